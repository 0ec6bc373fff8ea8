package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/wire"
)

// TestCallRoundTrip proves that Invoke and PutBatch carry the call to the
// handler and its reply back field by field, that a handler's error arrives
// with exactly its text, and that a posted call runs before the next call
// and its failure comes out of Settle.
func TestCallRoundTrip(t *testing.T) {
	c := NewCallClient(serveCalls(t, newFakeHost()).child)
	ctx := context.Background()
	got, err := c.Invoke(ctx, &pb.ObjectCall{Op: opEcho, Count: 41, ErrText: "hé", Value: &pb.Value{Data: []byte{0, 1}, Number: 2.5}})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Ok || got.Status != "qsize" || got.Result != 42 || got.ErrText != "hé" || string(got.FuncCode) != "qsize" ||
		string(got.Value.GetData()) != "\x00\x01" || got.Value.GetNumber() != 2.5 {
		t.Errorf("Invoke reply = %v", got)
	}
	puts, err := c.PutBatch(ctx, &pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: 3, Data: []byte("a")}, {QueueId: 7, Data: []byte("b")}, {QueueId: 3, Data: []byte("c")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(puts.Dropped) != 2 || puts.Dropped[3] != 2 || puts.Dropped[7] != 1 {
		t.Errorf("PutBatch reply = %v, want dropped {3: 2, 7: 1}", puts)
	}

	const text = "queue.lua:12: Queue.get: timed out after 0.5s"
	if _, err := c.Invoke(ctx, &pb.ObjectCall{Op: opFail, ErrText: text}); err == nil || err.Error() != text {
		t.Errorf("Invoke error = %v, want %q", err, text)
	}
	if _, err := c.PutBatch(ctx, &pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: 9}}}); err == nil || err.Error() != "queue 9: an empty item" {
		t.Errorf("PutBatch error = %v, want %q", err, "queue 9: an empty item")
	}

	for _, n := range []int64{1, 10} {
		if err := c.Post(&pb.ObjectCall{Op: opAdd, Count: n}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.Invoke(ctx, &pb.ObjectCall{Op: opAdd, Count: 100}); err != nil || got.Result != 111 {
		t.Errorf("a call after two posts: %v, %v; want N 111 (the posts ran first)", got, err)
	}
	if err := c.Settle(); err != nil {
		t.Errorf("Settle after posts that succeeded: %v", err)
	}
	if err := c.Post(&pb.ObjectCall{Id: 5, Op: opSend, ErrText: "pipe.lua:3: Pipe.send: the pipe is closed"}); err != nil {
		t.Fatal(err)
	}
	// A failed post does not stop the next calls: it is kept for its object.
	if err := c.Post(&pb.ObjectCall{Id: 6, Op: opAdd, Count: 1000}); err != nil {
		t.Errorf("a post after a failed one: %v", err)
	}
	if err := c.Settle(); err != nil {
		t.Errorf("Settle after a failed post: %v, want nil (the failure is its object's)", err)
	}
	if got, err := c.Invoke(ctx, &pb.ObjectCall{Op: opAdd}); err != nil || got.Result != 1111 {
		t.Errorf("a call after a failed post: %v, %v; want N 1111 (the post after it ran)", got, err)
	}
	if err := c.Failed(6); err != nil {
		t.Errorf("Failed(6) = %v, want nil", err)
	}
	const want = "an earlier send failed: pipe.lua:3: Pipe.send: the pipe is closed"
	if err := c.Failed(5); err == nil || err.Error() != want {
		t.Errorf("Failed(5) = %v, want %q", err, want)
	}
	if err := c.Failed(5); err != nil {
		t.Errorf("Failed(5) a second time = %v, want nil: it was taken", err)
	}
}

// TestCallGarbage proves that the host answers each frame that is not a
// well-formed call (an unknown kind, a message that does not parse, one over
// wire.MaxMessage) with a replyError of the same seq and a clear text, in
// order (a post with a replyFailed for object 0, as it is not known); that
// it skips the whole of a frame that is too long, does not answer a post
// that succeeds, and goes on serving calls on the same socket. It lowers
// wire.MaxMessage, so it must not run in parallel.
func TestCallGarbage(t *testing.T) {
	saved := wire.MaxMessage
	wire.MaxMessage = 1 << 10
	t.Cleanup(func() { wire.MaxMessage = saved })
	s := serveCalls(t, newFakeHost())

	// The long frame's body starts with a frame of kind 'z', seq 999, which
	// the host would answer if it read the body as frames.
	long := make([]byte, wire.MaxMessage+100)
	copy(long, []byte{0, 0, 0, 0, 'z', 0, 0, 0, 0, 0, 0, 0x03, 0xe7})
	cases := []struct {
		name     string
		kind     byte
		seq      uint64
		msg      []byte
		wantKind byte
		wantSeq  uint64
		want     string // the start of the error text
	}{
		{"unknown kind", 'z', 101, []byte("hello"), replyError, 101, "malformed call: unknown kind 'z'"},
		{"a reply's kind", replyInvoke, 102, nil, replyError, 102, "malformed call: unknown kind 'I'"},
		{"invoke not protobuf", callInvoke, 103, []byte{0xff, 0xff, 0xff, 0xff}, replyError, 103, "malformed call: proto:"},
		{"post not protobuf", callPost, 104, []byte{0x12, 0x05, 'a'}, replyFailed, PutsFailed, "an earlier call failed: malformed call: proto:"},
		{"puts not protobuf", callPuts, 105, []byte{0x0a, 0x05, 0x01}, replyError, 105, "malformed batch of puts: unexpected EOF"},
		{"posted puts not protobuf", callPostPuts, 106, []byte{0x0a, 0x05, 0x01}, replyFailed, PutsFailed, "an earlier put failed: malformed batch of puts: unexpected EOF"},
		{"too long", callInvoke, 107, long, replyError, 107, fmt.Sprintf("message too long: %d bytes (the limit is %d)", len(long), wire.MaxMessage)},
	}
	for _, c := range cases {
		writeFrame(t, s.child, c.kind, c.seq, c.msg)
	}
	for _, c := range cases {
		kind, seq, msg := readFrame(t, s.child)
		if kind != c.wantKind || seq != c.wantSeq || !strings.HasPrefix(string(msg), c.want) {
			t.Errorf("%s: got frame %q seq %d %q, want %q seq %d %q...", c.name, kind, seq, msg, c.wantKind, c.wantSeq, c.want)
		}
	}

	// After a post that succeeds, the next frame is the reply to the next
	// call: nothing else was answered.
	call, _ := proto.Marshal(&pb.ObjectCall{Op: opEcho, Count: 1})
	writeFrame(t, s.child, callPost, 108, call)
	writeFrame(t, s.child, callInvoke, 109, call)
	kind, seq, msg := readFrame(t, s.child)
	reply := new(pb.ObjectReply)
	if err := proto.Unmarshal(msg, reply); kind != replyInvoke || seq != 109 || err != nil || reply.Result != 2 {
		t.Fatalf("after the garbage: got frame %q seq %d %q, want the reply to call 109", kind, seq, msg)
	}
	got, err := NewCallClient(s.child).Invoke(context.Background(), &pb.ObjectCall{Op: opEcho, Count: 9})
	if err != nil || got.Result != 10 {
		t.Fatalf("a CallClient after the garbage: %v, %v", got, err)
	}
}

// TestCallContext proves the contract of contexts on this socket: a call
// whose context has already ended is not sent at all; one in flight waits
// for the host's reply even if its context ends meanwhile (no cancel goes
// to the host); and when the host ends the calls' context, a call waiting
// in the handler ends and the child gets its error.
func TestCallContext(t *testing.T) {
	h := newFakeHost()
	s := serveCalls(t, h)
	c := NewCallClient(s.child)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Invoke(ended, &pb.ObjectCall{Op: opAdd, Count: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke with an ended context returned %v, want context.Canceled", err)
	}
	if _, err := c.PutBatch(ended, &pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: 1, Data: []byte("x")}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBatch with an ended context returned %v, want context.Canceled", err)
	}
	// The host runs calls in order: had they been sent, they would have run.
	if got, err := c.Invoke(context.Background(), &pb.ObjectCall{Op: opAdd}); err != nil || got.Result != 0 || h.items.Load() != 0 {
		t.Errorf("calls with an ended context reached the handler: sum %v, %v, items %d", got, err, h.items.Load())
	}

	block := func(ctx context.Context) <-chan string { // "status, error"
		done := make(chan string, 1)
		go func() {
			r, err := c.Invoke(ctx, &pb.ObjectCall{Op: opBlock})
			done <- fmt.Sprintf("%s, %v", r.GetStatus(), err)
		}()
		return done
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := block(ctx)
	await(t, h.started, "the handler to start")
	cancel()
	h.release <- struct{}{}
	if got := await(t, done, "the reply to a call whose context ended in flight"); got != "released, <nil>" {
		t.Errorf("a call whose context ended in flight returned %q, want the host's reply", got)
	}

	done = block(context.Background())
	await(t, h.started, "the handler to start")
	s.stop()
	if err := await(t, h.ended, "the handler's context to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("the handler's context ended with %v, want context.Canceled", err)
	}
	if got := await(t, done, "the reply to a call the host ended"); got != ", context canceled" {
		t.Errorf("a call the host ended returned %q, want the error \"context canceled\"", got)
	}
}

// TestCallServerEnd proves that ServeCalls returns io.EOF when the child's
// end is closed, and, when a call is running at the time, returns once the
// host has ended the calls' context.
func TestCallServerEnd(t *testing.T) {
	s := serveCalls(t, newFakeHost())
	s.child.Close()
	await(t, s.served, "ServeCalls to return")
	if !errors.Is(s.err, io.EOF) {
		t.Errorf("ServeCalls returned %v, want io.EOF", s.err)
	}

	h := newFakeHost()
	s = serveCalls(t, h)
	call, _ := proto.Marshal(&pb.ObjectCall{Op: opBlock})
	writeFrame(t, s.child, callInvoke, 1, call)
	await(t, h.started, "the handler to start")
	s.child.Close()
	s.stop()
	if err := await(t, h.ended, "the running call's context to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("the running call's context ended with %v, want context.Canceled", err)
	}
	await(t, s.served, "ServeCalls to return")
	if s.err == nil {
		t.Error("ServeCalls returned nil after the child had gone")
	}
}

// TestCallConcurrent proves that calls made at once from several goroutines
// on one CallClient, posts among them, are serialized on the socket: each
// gets its own reply and every post runs (run it with -race).
func TestCallConcurrent(t *testing.T) {
	h := newFakeHost()
	c := NewCallClient(serveCalls(t, h).child)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := int64(g*1000 + i)
				text := fmt.Sprint("call ", n)
				got, err := c.Invoke(context.Background(), &pb.ObjectCall{Op: opEcho, Count: n, ErrText: text})
				if err != nil || got.Result != n+1 || got.ErrText != text {
					t.Errorf("Invoke %d: %v, %v", n, got, err)
					return
				}
				puts, err := c.PutBatch(context.Background(), &pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: uint64(n), Data: []byte("x")}}})
				if err != nil || len(puts.Dropped) != 1 || puts.Dropped[uint64(n)] != 1 {
					t.Errorf("PutBatch %d: %v, %v", n, puts, err)
					return
				}
				if err := c.Post(&pb.ObjectCall{Op: opAdd, Count: 1}); err != nil {
					t.Errorf("Post %d: %v", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Settle(); err != nil {
		t.Fatal(err)
	}
	if got := h.sum.Load(); got != 8*50 {
		t.Errorf("the host ran %d posts, want %d", got, 8*50)
	}
}

// TestCallFailedPostsDoNotFillTheSocket posts many more failing calls than
// the socket's buffer holds error frames (a script that keeps sending on a
// pipe closed by another process): the host tells one failure per object,
// so neither side blocks writing, and each object's failure is kept for it.
func TestCallFailedPostsDoNotFillTheSocket(t *testing.T) {
	t.Parallel()
	s := serveCalls(t, newFakeHost())
	c := NewCallClient(s.child)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 20000; i++ {
			if err := c.Post(&pb.ObjectCall{Id: uint64(3 + i%2), Op: opSend, ErrText: fmt.Sprint("end ", 3+i%2, " is closed")}); err != nil {
				done <- err
				return
			}
		}
		done <- c.Settle()
	}()
	if err := await(t, done, "20000 failing posts and Settle"); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	for _, id := range []uint64{3, 4} {
		want := fmt.Sprint("an earlier send failed: end ", id, " is closed")
		if err := c.Failed(id); err == nil || err.Error() != want {
			t.Errorf("Failed(%d) = %v, want %q", id, err, want)
		}
	}
	if err := c.Failures(); err != nil {
		t.Errorf("Failures after each was taken: %v, want nil", err)
	}
	c.Post(&pb.ObjectCall{Id: 8, Op: opSend, ErrText: "a"})
	c.Post(&pb.ObjectCall{Id: 9, Op: opFail, ErrText: "b"})
	if err := c.Settle(); err != nil {
		t.Fatal(err)
	}
	if err := c.Failures(); err == nil || !strings.Contains(err.Error(), "an earlier send failed: a") || !strings.Contains(err.Error(), "an earlier clear failed: b") {
		t.Errorf("Failures = %v, want both posts' errors", err)
	}
	if err := c.Failures(); err != nil {
		t.Errorf("Failures a second time = %v, want nil", err)
	}
}

// TestCallsOfAGoneChild proves that once the host has ended the calls'
// context (the child has gone), the calls it had sent are not run, as no
// one would read their replies (a get would lose an item), while its posts,
// which the child had made, still are, even after one of them failed.
func TestCallsOfAGoneChild(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	s := serveCalls(t, h)
	s.stop()
	add, _ := proto.Marshal(&pb.ObjectCall{Op: opAdd, Count: 1})
	puts, _ := proto.Marshal(&pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: 1, Data: []byte("x")}}})
	fail, _ := proto.Marshal(&pb.ObjectCall{Id: 5, Op: opSend, ErrText: "closed"})
	writeFrame(t, s.child, callInvoke, 1, add)
	writeFrame(t, s.child, callPost, 2, fail) // its failure is not told, and stops nothing
	writeFrame(t, s.child, callPost, 3, add)
	writeFrame(t, s.child, callPostPuts, 4, puts)
	writeFrame(t, s.child, callInvoke, 5, add)
	s.child.Close()
	await(t, s.served, "ServeCalls to return")
	if got := h.sum.Load(); got != 1 {
		t.Errorf("the host ran %d adds, want 1 (the post)", got)
	}
	if got := h.items.Load(); got != 1 {
		t.Errorf("the host stored %d items, want 1 (the posted batch)", got)
	}
}

// TestCallPostedPuts checks that posted batches are stored in order before
// the next call, and that the items closed queues turned away (the fake
// host turns away every item) are told before the reply to the next call,
// and taken once.
func TestCallPostedPuts(t *testing.T) {
	t.Parallel()
	h := newFakeHost()
	s := serveCalls(t, h)
	c := NewCallClient(s.child)
	item := func(q uint64) *pb.QueueItem { return &pb.QueueItem{QueueId: q, Data: []byte("x")} }
	batch := func(items ...*pb.QueueItem) []byte {
		b, err := proto.Marshal(&pb.PutBatchRequest{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if err := c.PostPuts(batch(item(7), item(7), item(8))); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("y"), 100<<10) // in a write of its own
	if err := c.PostPuts(batch(item(7), &pb.QueueItem{QueueId: 9, Data: big})); err != nil {
		t.Fatal(err)
	}
	if d := c.Dropped(); d != nil {
		t.Errorf("Dropped before any reply: %v, want nil", d)
	}
	if err := c.Settle(); err != nil {
		t.Fatal(err)
	}
	if n := h.items.Load(); n != 5 {
		t.Errorf("the host stored %d items, want 5", n)
	}
	if d := c.Dropped(); len(d) != 3 || d[7] != 3 || d[8] != 1 || d[9] != 1 {
		t.Errorf("Dropped after Settle: %v, want map[7:3 8:1 9:1]", d)
	}
	if d := c.Dropped(); d != nil {
		t.Errorf("Dropped a second time: %v, want nil", d)
	}
}

// TestParsePutBatch proves that the hand-written parser of a batch reads
// what proto.Marshal writes, unknown fields included, with each item's data
// aliasing the message (and capped, so that appending to it cannot write
// over the next item), and refuses truncated or ill-typed bytes.
func TestParsePutBatch(t *testing.T) {
	want := &pb.PutBatchRequest{Items: []*pb.QueueItem{
		{QueueId: 1, Data: []byte("first")},
		{QueueId: 1 << 40, Data: bytes.Repeat([]byte{0xab}, 300)},
		{QueueId: 7},
		{Data: []byte("queue 0")},
	}}
	msg, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown fields, which a newer child might send: a varint field 9 in
	// the batch, a fixed64 field 5 in the first item.
	msg = protowire.AppendVarint(protowire.AppendTag(msg, 9, protowire.VarintType), 42)
	first := protowire.AppendFixed64(protowire.AppendTag(nil, 5, protowire.Fixed64Type), 1)
	first = append(first, msg[2:2+msg[1]]...)
	msg = append(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), first), msg[2+msg[1]:]...)

	got, err := parsePutBatch(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != len(want.Items) {
		t.Fatalf("%d items, want %d", len(got.Items), len(want.Items))
	}
	for i, it := range got.Items {
		if it.QueueId != want.Items[i].QueueId || !bytes.Equal(it.Data, want.Items[i].Data) {
			t.Errorf("item %d = {%d %q}, want {%d %q}", i, it.QueueId, it.Data, want.Items[i].QueueId, want.Items[i].Data)
		}
	}
	data := got.Items[0].Data
	if idx := bytes.Index(msg, []byte("first")); &msg[idx] != &data[0] {
		t.Error("the first item's data is a copy, not the message's bytes")
	}
	if cap(data) != len(data) {
		t.Errorf("the first item's data has room to grow over the next item: len %d cap %d", len(data), cap(data))
	}

	for _, bad := range [][]byte{
		msg[:len(msg)-3],               // truncated
		{0x0a, 0x05, 0x01},             // an item longer than the message
		{0x0a, 0x02, 0x12, 0x09},       // data longer than its item
		{0x08},                         // a varint with no bytes
		{0x0a, 0x02, 0x0b, 0x00},       // a start-group tag, not a field
		{0xff, 0xff, 0xff, 0xff, 0xff}, // a tag that overflows
	} {
		if _, err := parsePutBatch(bad); err == nil {
			t.Errorf("parsePutBatch(% x): no error", bad)
		}
	}
}

// TestCallsAfterAFailedWrite proves that when the host cannot write to a
// child that has closed its end (it died before the host read its frames),
// the posts it had made still run, though one of them failed and its
// failure could not be told.
func TestCallsAfterAFailedWrite(t *testing.T) {
	t.Parallel()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	host, child := os.NewFile(uintptr(fds[0]), "host"), os.NewFile(uintptr(fds[1]), "child")
	defer host.Close()
	fail, _ := proto.Marshal(&pb.ObjectCall{Id: 5, Op: opSend, ErrText: "closed"})
	add, _ := proto.Marshal(&pb.ObjectCall{Id: 6, Op: opAdd, Count: 1})
	puts, _ := proto.Marshal(&pb.PutBatchRequest{Items: []*pb.QueueItem{{QueueId: 1, Data: []byte("x")}}})
	writeFrame(t, child, callPost, 1, fail)
	writeFrame(t, child, callPost, 2, add)
	writeFrame(t, child, callPostPuts, 3, puts)
	writeFrame(t, child, callInvoke, 4, add)
	child.Close()
	h := newFakeHost()
	done := make(chan error, 1)
	go func() { done <- ServeCalls(context.Background(), host, h) }()
	if err := await(t, done, "ServeCalls to return"); !errors.Is(err, io.EOF) {
		t.Errorf("ServeCalls returned %v, want io.EOF once it had read everything", err)
	}
	if h.sum.Load() != 1 || h.items.Load() != 1 {
		t.Errorf("the posted add ran %d times and the posted batch stored %d items; want 1 and 1 (and the call after them not run)", h.sum.Load(), h.items.Load())
	}
}
