package plugins

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/protobuf/proto"

	pb "github.com/mphost/mphost/plugins/proto"
)

// The hot calls of a child, object operations and batches of puts, go to
// the host over a socket of their own: a socketpair made when the child is
// started, the child's end its file descriptor CallFD. A gRPC call costs
// about 100 µs here, a call on this socket about 25 (the floor, one unix
// round trip, is 13); a pipe's ping pong or a pool worker asking for its
// next task is a call or two. The messages are the gRPC service's own
// (pb.ObjectCall, pb.PutBatchRequest and their replies), each in a frame:
//
//	length  uint32, big-endian: the bytes of the message
//	kind    one byte: callInvoke, callPost, callPuts; replyInvoke, replyPuts, replyError
//	seq     uint64, big-endian: the call's number, which its reply carries
//	message length bytes: the protobuf message, or the text of a replyError
//
// A child makes one call at a time, and the host runs it on the goroutine
// that read it: no goroutine is started and none woken per call. So a call
// in flight is not cancelled by its caller (a child's context ends only when
// its process does, from the same goroutine); it ends when the host
// replies, or when the host cancels it because the child has gone.
//
// A posted call (callPost) gets no reply unless it fails: the child does
// not wait for it, and the host runs it before any later call. A pipe's
// send is posted once one send on that end has succeeded, so that a ping
// pong costs one round trip, not two.

// CallFD is the child's file descriptor of its call socket.
const CallFD = 4

// Frame kinds of the call socket.
const (
	callInvoke  byte = 'i'
	callPost    byte = 'o'
	callPuts    byte = 'p'
	replyInvoke byte = 'I'
	replyPuts   byte = 'P'
	replyError  byte = 'E'
)

const callHeader = 13

// errFrameTooLong is a frame whose length is over MaxMessage; its bytes
// have been skipped, so the next frame can be read.
var errFrameTooLong = errors.New("message too long")

// readCallFrame reads one frame into buf (grown as needed) and returns its
// kind, number and message, which is valid until the next read into buf.
func readCallFrame(r *bufio.Reader, buf *[]byte) (kind byte, seq uint64, msg []byte, err error) {
	var h [callHeader]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	kind, seq = h[4], binary.BigEndian.Uint64(h[5:])
	if int64(n) > int64(MaxMessage) {
		if _, err = r.Discard(int(n)); err != nil {
			return 0, 0, nil, err
		}
		return kind, seq, nil, fmt.Errorf("%w: %d bytes (the limit is %d)", errFrameTooLong, n, MaxMessage)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	msg = (*buf)[:n]
	if _, err = io.ReadFull(r, msg); err != nil {
		return 0, 0, nil, err
	}
	return kind, seq, msg, nil
}

// appendCallFrame appends a frame holding m (nil: no message) to b.
func appendCallFrame(b []byte, kind byte, seq uint64, m proto.Message) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, callHeader)...)
	if m != nil {
		var err error
		if b, err = (proto.MarshalOptions{}).MarshalAppend(b, m); err != nil {
			return b[:start], err
		}
	}
	return endCallFrame(b, start, kind, seq)
}

// appendErrorFrame appends a replyError frame, whose message is the text of
// err, to b.
func appendErrorFrame(b []byte, seq uint64, err error) []byte {
	start := len(b)
	b = append(b, make([]byte, callHeader)...)
	b = append(b, err.Error()...)
	b, _ = endCallFrame(b, start, replyError, seq)
	return b
}

// endCallFrame writes the header of the frame that starts at b[start].
func endCallFrame(b []byte, start int, kind byte, seq uint64) ([]byte, error) {
	n := len(b) - start - callHeader
	if int64(n) > int64(MaxMessage) {
		return b[:start], fmt.Errorf("%w: %d bytes (the limit is %d)", errFrameTooLong, n, MaxMessage)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n))
	b[start+4] = kind
	binary.BigEndian.PutUint64(b[start+5:], seq)
	return b, nil
}

// CallHandler is what serves a child's call socket: the host's service for
// that child, the same that serves its gRPC calls.
type CallHandler interface {
	Invoke(context.Context, *pb.ObjectCall) (*pb.ObjectReply, error)
	PutBatch(context.Context, *pb.PutBatchRequest) (*pb.PutBatchReply, error)
}

// ServeCalls serves the host's end of a child's call socket until reading
// it fails (the child is gone) and returns that error. Calls run with ctx,
// which the host ends when the child has gone, so that a call waiting on
// the child's behalf stops. A frame that is not a call, or whose message
// does not parse, is answered with an error, and the socket goes on
// serving.
func ServeCalls(ctx context.Context, conn io.ReadWriter, h CallHandler) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	var in, out []byte
	postFailed := false // a posted call failed, and no call has been read since
	for {
		kind, seq, msg, err := readCallFrame(r, &in)
		if errors.Is(err, errFrameTooLong) {
			out = appendErrorFrame(out[:0], seq, err)
		} else if err != nil {
			return err
		} else {
			out = serveCall(ctx, h, kind, seq, msg, out[:0])
		}
		if kind == callPost {
			// The child reads only while it waits for a call's reply, and
			// reports one failure: answer the first failed post, and keep
			// the others from filling the socket while it keeps posting.
			if len(out) == 0 || postFailed {
				continue
			}
			postFailed = true
		} else {
			postFailed = false
		}
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
}

// serveCall runs one call and appends its reply to out.
func serveCall(ctx context.Context, h CallHandler, kind byte, seq uint64, msg, out []byte) []byte {
	var (
		reply     proto.Message
		replyKind byte
		err       error
	)
	switch kind {
	case callInvoke, callPost:
		call := new(pb.ObjectCall)
		if err = proto.Unmarshal(msg, call); err != nil {
			err = fmt.Errorf("malformed call: %w", err)
			break
		}
		replyKind = replyInvoke
		reply, err = h.Invoke(ctx, call)
		if kind == callPost && err == nil {
			return out
		}
	case callPuts:
		puts := new(pb.PutBatchRequest)
		if err = proto.Unmarshal(msg, puts); err == nil {
			replyKind = replyPuts
			reply, err = h.PutBatch(ctx, puts)
		} else {
			err = fmt.Errorf("malformed batch of puts: %w", err)
		}
	default:
		err = fmt.Errorf("malformed call: unknown kind %q", kind)
	}
	if err == nil {
		var frame []byte
		if frame, err = appendCallFrame(out, replyKind, seq, reply); err == nil {
			return frame
		}
	}
	return appendErrorFrame(out, seq, err)
}

// CallClient is a child's end of its call socket.
type CallClient struct {
	mu      sync.Mutex // one call at a time
	conn    io.ReadWriter
	r       *bufio.Reader
	seq     uint64
	in, out []byte
	posted  bool  // a call was posted since the last reply
	failed  error // a posted call that failed, not yet reported
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
// child reads while it waits for its next call's reply; the call after that
// (or Settle) returns the error instead of being sent.
func (c *CallClient) Post(call *pb.ObjectCall) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.takeFailure(); err != nil {
		return err
	}
	if err := c.send(callPost, call); err != nil {
		return err
	}
	c.posted = true
	return nil
}

// Settle waits until the host has run every call posted so far, and
// returns the error of one that failed.
func (c *CallClient) Settle() error {
	c.mu.Lock()
	posted := c.posted
	c.mu.Unlock()
	if posted {
		if _, err := c.PutBatch(context.Background(), &pb.PutBatchRequest{}); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.takeFailure()
}

func (c *CallClient) takeFailure() error {
	err := c.failed
	c.failed = nil
	if err != nil {
		return fmt.Errorf("an earlier send failed: %w", err)
	}
	return nil
}

func (c *CallClient) send(kind byte, m proto.Message) error {
	c.seq++
	var err error
	if c.out, err = appendCallFrame(c.out[:0], kind, c.seq, m); err != nil {
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
	if err := c.takeFailure(); err != nil {
		return err
	}
	if err := c.send(kind, m); err != nil {
		return err
	}
	for {
		got, seq, msg, err := readCallFrame(c.r, &c.in)
		if err != nil && !errors.Is(err, errFrameTooLong) {
			return fmt.Errorf("the host's reply: %w", err)
		}
		if seq != c.seq {
			// A posted call's failure: the host ran it before this call.
			if got == replyError && c.failed == nil {
				c.failed = errors.New(string(msg))
			}
			continue
		}
		c.posted = false
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
