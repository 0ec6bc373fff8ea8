package child

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
)

// The harness of the call socket tests: a fake host behind a real
// socketpair, and frames written and read by hand.

// The operations the fake host tells apart: real ops, for their names in
// the errors of failed posts.
var (
	opFail  = uint32(ops.EventClear)
	opSend  = uint32(ops.ConnectionSend)
	opAdd   = uint32(ops.ValueAdd)
	opBlock = uint32(ops.QueueJoin)
	opEcho  = uint32(ops.QueueQsize)
)

// fakeHost is the CallHandler of these tests. Invoke answers by Op: opFail,
// and opSend with an ErrText, fail with the call's ErrText; opAdd adds Count
// to a sum and replies the sum; opBlock reports on started, then replies
// when given a token on release, or reports ctx.Err() on ended when its
// context ends; anything else echoes. PutBatch counts the items of each
// queue, and fails on an empty one.
type fakeHost struct {
	started chan struct{}
	release chan struct{}
	ended   chan error
	sum     atomic.Int64
	items   atomic.Int64 // the items of the batches run
}

func newFakeHost() *fakeHost {
	return &fakeHost{started: make(chan struct{}, 1), release: make(chan struct{}, 1), ended: make(chan error, 1)}
}

func (h *fakeHost) Invoke(ctx context.Context, c *pb.ObjectCall) (*pb.ObjectReply, error) {
	switch {
	case c.Op == opFail, c.Op == opSend && c.ErrText != "":
		return nil, errors.New(c.ErrText)
	case c.Op == opAdd:
		return &pb.ObjectReply{Ok: true, Result: h.sum.Add(c.Count)}, nil
	case c.Op == opBlock:
		h.started <- struct{}{}
		select {
		case <-h.release:
			return &pb.ObjectReply{Ok: true, Status: "released"}, nil
		case <-ctx.Done():
			h.ended <- ctx.Err()
			return nil, ctx.Err()
		}
	}
	name := ops.Op(c.Op).Decl().Name
	return &pb.ObjectReply{Ok: true, Status: name, Result: c.Count + 1, ErrText: c.ErrText, Value: c.Value, FuncCode: []byte(name)}, nil
}

func (h *fakeHost) PutBatch(ctx context.Context, req *pb.PutBatchRequest) (*pb.PutBatchReply, error) {
	dropped := make(map[uint64]int64)
	for _, it := range req.Items {
		if len(it.Data) == 0 {
			return nil, fmt.Errorf("queue %d: an empty item", it.QueueId)
		}
		dropped[it.QueueId]++
	}
	h.items.Add(int64(len(req.Items)))
	return &pb.PutBatchReply{Dropped: dropped}, nil
}

// callSocket is a unix socketpair with ServeCalls on its host end, a
// blocking *os.File as in host/child.go.
type callSocket struct {
	child  net.Conn           // the child's end, with a deadline
	stop   context.CancelFunc // ends the calls' context, as the host does when the child has gone
	served chan struct{}      // closed when ServeCalls returns
	err    error              // what ServeCalls returned, once served is closed
}

// serveCalls starts ServeCalls(h) on a new socketpair; the test's cleanup
// closes the child's end and waits for ServeCalls to return.
func serveCalls(t *testing.T, h CallHandler) *callSocket {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	host, childFile := os.NewFile(uintptr(fds[0]), "host"), os.NewFile(uintptr(fds[1]), "child")
	child, err := net.FileConn(childFile)
	childFile.Close()
	if err != nil {
		host.Close()
		t.Fatal(err)
	}
	child.SetDeadline(time.Now().Add(10 * time.Second)) // a lost frame fails the test, not hangs it
	ctx, stop := context.WithCancel(context.Background())
	s := &callSocket{child: child, stop: stop, served: make(chan struct{})}
	go func() {
		s.err = ServeCalls(ctx, host, h)
		close(s.served)
	}()
	t.Cleanup(func() {
		stop()
		child.Close()
		await(t, s.served, "ServeCalls to return after the child's end was closed")
		host.Close()
	})
	return s
}

// await returns what ch yields, or fails the test after five seconds.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// writeFrame writes a frame by hand, as a broken child might.
func writeFrame(t *testing.T, w io.Writer, kind byte, seq uint64, msg []byte) {
	t.Helper()
	frame := make([]byte, 13, 13+len(msg))
	binary.BigEndian.PutUint32(frame, uint32(len(msg)))
	frame[4] = kind
	binary.BigEndian.PutUint64(frame[5:], seq)
	if _, err := w.Write(append(frame, msg...)); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one frame by hand, and not a byte past it.
func readFrame(t *testing.T, r io.Reader) (kind byte, seq uint64, msg []byte) {
	t.Helper()
	var h [13]byte
	_, err := io.ReadFull(r, h[:])
	msg = make([]byte, binary.BigEndian.Uint32(h[:4]))
	if _, err2 := io.ReadFull(r, msg); err != nil || err2 != nil {
		t.Fatal(errors.Join(err, err2))
	}
	return h[4], binary.BigEndian.Uint64(h[5:]), msg
}
