package child

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/wire"
)

// The hot calls of a child, object operations and batches of puts, go to
// the host over a socket of their own: a socketpair made when the child is
// started, the child's end its file descriptor CallFD. A call here costs a
// fraction of a gRPC call (bench/README.md has the figures), and a pipe's
// ping pong or a pool worker asking for its next task is a call or two. The messages are the gRPC service's own
// (pb.ObjectCall, pb.PutBatchRequest and their replies), each in a frame
// of package wire, of kind callInvoke, callPost, callPuts or callPostPuts;
// the replies of kind replyInvoke, replyPuts, replyError (the message is
// the error's text) or replyFailed.
//
// A child makes one call at a time, and the host runs it on the goroutine
// that read it: no goroutine is started and none woken per call. So a call
// in flight is not cancelled by its caller (a child's context ends only when
// its process does, from the same goroutine); it ends when the host
// replies, or when the host cancels it because the child has gone.
//
// A posted call (callPost, callPostPuts) gets no reply unless it fails: the
// child does not wait for it, and the host runs it before any later call.
// A pipe's send is posted once one send on that end has succeeded, so that
// a ping pong costs one round trip, not two; so are a release of a lock the
// child holds and an Event's set (see Remote.postable);
// batches of puts are posted, so that the child makes the next batch while
// the host stores the last. A failed post is told in a replyFailed frame
// numbered with the object it was for (0: a batch of puts, or a post that
// did not parse), once per object until the next call. Both that and the
// items of posted batches that closed queues turned away (a replyPuts frame
// numbered 0) come before the reply to the next call, which is when the
// child reads them. The child keeps a failure for its object: the first
// operation on that object that it starts after it was told raises it
// instead of running (a put: any put).
//
// Calls that a child sent but the host had not read when the child died
// are not run, posted ones excepted, failed or not (they had been made: a
// send or put that returned): a get would take an item that no one would
// receive. Once the host cannot write to a child, it writes nothing more.

// CallFD is the child's file descriptor of its call socket.
const CallFD = 4

// ValuesFD is the child's file descriptor of the memory that holds the
// numbers of Values (package slots), when the host has it.
const ValuesFD = 5

// Frame kinds of the call socket.
const (
	callInvoke   byte = 'i'
	callPost     byte = 'o'
	callPuts     byte = 'p'
	callPostPuts byte = 'q'
	replyInvoke  byte = 'I'
	replyPuts    byte = 'P'
	replyError   byte = 'E'
	replyFailed  byte = 'F'
)

// PutsFailed is the number of the object whose failed posts are posted
// batches of puts (no object has it).
const PutsFailed = 0

// CallHandler is what serves a child's call socket: the host's service for
// that child, the same that serves its gRPC calls.
type CallHandler interface {
	Invoke(context.Context, *pb.ObjectCall) (*pb.ObjectReply, error)
	PutBatch(context.Context, *pb.PutBatchRequest) (*pb.PutBatchReply, error)
}

// ServeCalls serves the host's end of a child's call socket until reading
// it fails (the child is gone, and what it sent has been read) and returns
// that error. Calls run with ctx, which the host ends when the child has
// gone, so that a call waiting on the child's behalf stops; once it has
// ended, or a write has failed, only posted calls run. A frame that is not
// a call, or whose message does not parse, is answered with an error (a
// post: told as a failed post of object 0), and the socket goes on serving.
func ServeCalls(ctx context.Context, conn io.ReadWriter, h CallHandler) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	var (
		in, out []byte
		gone    bool             // a reply could not be written: the child has gone
		failed  map[uint64]bool  // objects whose failed posts were told since the last call
		dropped map[uint64]int64 // items of posted batches that closed queues turned away
	)
	for {
		kind, seq, msg, err := wire.ReadFrame(r, &in)
		posted := kind == callPost || kind == callPostPuts
		if err != nil && !errors.Is(err, wire.ErrTooLong) {
			return err
		}
		// Once the child has gone, its posts still run (they were made),
		// its calls do not, and nothing is written.
		gone = gone || ctx.Err() != nil
		if gone && !posted {
			continue
		}
		c := served{kind: replyError, object: PutsFailed, what: "call"}
		if err == nil {
			c, err = serveCall(ctx, h, kind, msg)
		}
		if kind == callPuts || kind == callPostPuts {
			in = nil // the queues hold parts of it
		}
		in, out = wire.TrimBuffer(in), wire.TrimBuffer(out)
		if posted {
			if err == nil {
				if puts, ok := c.reply.(*pb.PutBatchReply); ok && len(puts.Dropped) > 0 {
					dropped = addDropped(dropped, puts.Dropped)
				}
				// A post has no reply to write: let the goroutine it woke
				// (the main script waiting in recv or get) run now, on this
				// thread, rather than wait for another to start. After a
				// call, not: the child is waiting for the reply, and a pool's
				// small tasks pay for the switch (bench/README.md).
				runtime.Gosched()
				continue
			}
			// The child reads only while it waits for a call's reply: tell
			// one failure per object, so that a child that goes on posting
			// does not fill the socket with them.
			if gone || failed[c.object] {
				continue
			}
			if failed == nil {
				failed = make(map[uint64]bool)
			}
			failed[c.object] = true
			out = wire.AppendErrorFrame(out, replyFailed, c.object, fmt.Errorf("an earlier %s failed: %w", c.what, err))
		} else {
			failed = nil
			if len(dropped) > 0 {
				out, _ = wire.AppendFrame(out, replyPuts, 0, &pb.PutBatchReply{Dropped: dropped})
				dropped = nil
			}
			if err == nil {
				out, err = wire.AppendFrame(out, c.kind, seq, c.reply)
			}
			if err != nil {
				out = wire.AppendErrorFrame(out, replyError, seq, err)
			}
		}
		if _, err := conn.Write(out); err != nil {
			gone = true // read on: the posts it made before it went still run
		}
	}
}

// served is what serveCall did.
type served struct {
	kind   byte          // the reply's kind
	reply  proto.Message // the reply
	object uint64        // the object called, PutsFailed for a batch of puts
	what   string        // what the call was, for the error of a failed post: "send", "put"
}

// serveCall runs one call and returns its reply.
func serveCall(ctx context.Context, h CallHandler, kind byte, msg []byte) (served, error) {
	switch kind {
	case callInvoke, callPost:
		call := new(pb.ObjectCall)
		if err := proto.Unmarshal(msg, call); err != nil {
			return served{object: PutsFailed, what: "call"}, fmt.Errorf("malformed call: %w", err)
		}
		reply, err := h.Invoke(ctx, call)
		what := ops.Op(call.Op).Decl().Name
		if ops.Op(call.Op) == ops.TransportRelay {
			what = "send" // one the pipe's socket could not take (see sendOnPipe)
		}
		return served{replyInvoke, reply, call.Id, what}, err
	case callPuts, callPostPuts:
		puts, err := parsePutBatch(msg)
		if err != nil {
			return served{object: PutsFailed, what: "put"}, fmt.Errorf("malformed batch of puts: %w", err)
		}
		reply, err := h.PutBatch(ctx, puts)
		return served{replyPuts, reply, PutsFailed, "put"}, err
	}
	return served{object: PutsFailed, what: "call"}, fmt.Errorf("malformed call: unknown kind %q", kind)
}

// parsePutBatch parses a pb.PutBatchRequest whose items' data alias msg,
// which the caller does not reuse: a batch is copied once, from the socket,
// on its way to the queues. (proto.Unmarshal copies every bytes field, even
// with protoiface.UnmarshalAliasBuffer.)
func parsePutBatch(msg []byte) (*pb.PutBatchRequest, error) {
	puts := new(pb.PutBatchRequest)
	err := eachField(msg, func(num protowire.Number, typ protowire.Type, field []byte) (int, error) {
		if num != 1 || typ != protowire.BytesType {
			return protowire.ConsumeFieldValue(num, typ, field), nil
		}
		raw, n := protowire.ConsumeBytes(field)
		if n < 0 {
			return n, nil
		}
		item := new(pb.QueueItem)
		puts.Items = append(puts.Items, item)
		return n, eachField(raw, func(num protowire.Number, typ protowire.Type, field []byte) (int, error) {
			switch {
			case num == 1 && typ == protowire.VarintType:
				id, n := protowire.ConsumeVarint(field)
				item.QueueId = id
				return n, nil
			case num == 2 && typ == protowire.BytesType:
				data, n := protowire.ConsumeBytes(field)
				item.Data = data[:len(data):len(data)]
				return n, nil
			}
			return protowire.ConsumeFieldValue(num, typ, field), nil
		})
	})
	return puts, err
}

// eachField calls read with each field of the message b: its number, wire
// type, and the bytes from its value on. read returns the length of the
// value, or a negative protowire error code.
func eachField(b []byte, read func(protowire.Number, protowire.Type, []byte) (int, error)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		m, err := read(num, typ, b)
		if err != nil {
			return err
		}
		if m < 0 {
			return protowire.ParseError(m)
		}
		b = b[m:]
	}
	return nil
}

// addDropped adds the counts of more to those of m, which it makes if nil.
func addDropped(m, more map[uint64]int64) map[uint64]int64 {
	if m == nil {
		m = make(map[uint64]int64)
	}
	for id, n := range more {
		m[id] += n
	}
	return m
}

// CallClient is a child's end of its call socket.
type CallClient struct {
	mu      sync.Mutex // one call at a time
	conn    io.ReadWriter
	r       *bufio.Reader
	seq     uint64
	in, out []byte
	posted  atomic.Bool      // a call was posted since the last reply; read without mu by Settle
	failed  map[uint64]error // per object, a posted call that failed, not yet taken
	dropped map[uint64]int64 // items of posted batches turned away, not yet taken
}

// NewCallClient returns a client that calls the host over conn.
func NewCallClient(conn io.ReadWriter) *CallClient {
	return &CallClient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
}

// Invoke performs an object operation in the host. A call is not sent once
// ctx has ended; once sent, it waits for the host's reply.
func (c *CallClient) Invoke(ctx context.Context, call *pb.ObjectCall) (*pb.ObjectReply, error) {
	reply := new(pb.ObjectReply)
	return reply, c.call(ctx, callInvoke, replyInvoke, call, reply)
}

// PutBatch puts a batch of items into queues in the host, as Invoke calls.
func (c *CallClient) PutBatch(ctx context.Context, puts *pb.PutBatchRequest) (*pb.PutBatchReply, error) {
	reply := new(pb.PutBatchReply)
	return reply, c.call(ctx, callPuts, replyPuts, puts, reply)
}

// Post sends an object operation that the host runs before any later call,
// without waiting for it. If it fails, the host says so in a frame the
// child reads while it waits for its next call's reply, and Failed returns
// the error.
func (c *CallClient) Post(call *pb.ObjectCall) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posting(c.send(callPost, call))
}

// PostPuts sends a batch of puts, a pb.PutBatchRequest in its wire form,
// as Post sends an operation; Failed(PutsFailed) returns its failure. The
// items that closed queues turn away are counted, and taken with Dropped.
func (c *CallClient) PostPuts(batch []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posting(c.sendRaw(callPostPuts, batch))
}

func (c *CallClient) posting(err error) error {
	if err == nil {
		c.posted.Store(true)
	}
	return err
}

// Failed returns, once, the error of a posted call on object id (or of a
// posted batch of puts, id PutsFailed) that the host has told of; nil when
// there is none.
func (c *CallClient) Failed(id uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.failed[id]
	delete(c.failed, id)
	return err
}

// Failures returns, once, the errors of all the posted calls that the host
// has told of; nil when there are none.
func (c *CallClient) Failures() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, err := range c.failed {
		errs = append(errs, err)
	}
	c.failed = nil
	return errors.Join(errs...)
}

// Dropped returns, per queue, the items of posted batches that closed
// queues turned away and that the host has told of since the last time;
// nil when there are none. Settle first to count every batch posted.
func (c *CallClient) Dropped() map[uint64]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dropped
	c.dropped = nil
	return d
}

// Settle waits until the host has run every call posted so far; the
// failures among them are then known to Failed. It returns an error only if
// the host could not be asked.
func (c *CallClient) Settle() error {
	if !c.posted.Load() {
		return nil
	}
	_, err := c.PutBatch(context.Background(), &pb.PutBatchRequest{})
	return err
}

// sendRaw sends a frame whose message is already in wire form; a large
// one in a write of its own, so that it is not copied.
func (c *CallClient) sendRaw(kind byte, msg []byte) error {
	if int64(len(msg)) > int64(wire.MaxMessage) {
		return wire.TooLong(len(msg))
	}
	c.seq++
	c.out = append(wire.TrimBuffer(c.out), make([]byte, wire.Header)...)
	wire.PutHeader(c.out, kind, c.seq, len(msg))
	if len(msg) < 64<<10 {
		c.out, msg = append(c.out, msg...), nil
	}
	_, err := c.conn.Write(c.out)
	if err == nil && msg != nil {
		_, err = c.conn.Write(msg)
	}
	if err != nil {
		return fmt.Errorf("calling the host: %w", err)
	}
	return nil
}

func (c *CallClient) send(kind byte, m proto.Message) error {
	c.seq++
	var err error
	if c.out, err = wire.AppendFrame(wire.TrimBuffer(c.out), kind, c.seq, m); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.out); err != nil {
		return fmt.Errorf("calling the host: %w", err)
	}
	return nil
}

func (c *CallClient) call(ctx context.Context, kind, want byte, m, reply proto.Message) error {
	if err := ctx.Err(); err != nil {
		return err // as gRPC does: a call whose context has ended is not sent
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.send(kind, m); err != nil {
		return err
	}
	defer func() { c.in = wire.TrimBuffer(c.in) }()
	for {
		got, seq, msg, err := wire.ReadFrame(c.r, &c.in)
		if err != nil && !errors.Is(err, wire.ErrTooLong) {
			return fmt.Errorf("the host's reply: %w", err)
		}
		switch {
		case got == replyFailed:
			// A posted call on object seq failed.
			if c.failed == nil {
				c.failed = make(map[uint64]error)
			}
			if c.failed[seq] == nil {
				c.failed[seq] = errors.New(string(msg))
			}
			continue
		case got == replyPuts && seq == 0:
			var told pb.PutBatchReply
			if proto.Unmarshal(msg, &told) == nil {
				c.dropped = addDropped(c.dropped, told.Dropped)
			}
			continue
		case seq != c.seq:
			continue // not this call's: the host has no other to answer
		}
		c.posted.Store(false)
		switch {
		case err != nil:
			return fmt.Errorf("the host's reply: %w", err)
		case got == want:
			return proto.Unmarshal(msg, reply)
		case got == replyError:
			return errors.New(string(msg))
		default:
			return fmt.Errorf("the host's reply: a frame of kind %q to a call of kind %q", got, kind)
		}
	}
}
