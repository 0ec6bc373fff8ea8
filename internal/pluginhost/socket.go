package pluginhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/wire"
)

// SocketConn calls a plugin process on its call socket (InfoReply's
// CallsAddr), one call at a time, a round trip of a unix socket per call:
// the plugin runs the calls of one connection in turn, and those of
// different connections at once.
type SocketConn struct {
	mu      sync.Mutex // one call at a time
	conn    net.Conn
	r       *bufio.Reader
	in, out []byte
	seq     uint64
	broken  error       // set once a call broke the connection
	waiting atomic.Bool // a call is sent and waits for its reply
}

// ErrBroken is in the error of a call whose connection to the plugin
// ended before its reply came.
var ErrBroken = errors.New("the connection to the plugin ended")

// errNotSent is in the error of a call that the plugin never read, which
// can go to the plugin's next process: a unix socket refuses a write once
// its peer is gone, and a read fails with ECONNRESET, not EOF, when the
// peer closed with bytes it had not read.
var errNotSent = errors.New("the plugin ended before it read the call")

// DialSocket connects to a plugin's call socket.
func DialSocket(addr string) (*SocketConn, error) {
	conn, err := net.Dial("unix", addr)
	if err != nil {
		return nil, err
	}
	return &SocketConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}, nil
}

// Call calls a function of the plugin with encoded arguments and returns
// its reply. The error is for the call itself (ctx done; the connection
// ended, wrapping [ErrBroken]); an error the function raised is in the
// reply. A call that ctx ends breaks the connection, which the caller
// then closes: the plugin cancels the call when its connection closes.
func (c *SocketConn) Call(ctx context.Context, function string, args [][]byte) (*pb.CallReply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	reply, err := c.roundTrip(function, args)
	c.waiting.Store(false)
	if err != nil {
		if ctx.Err() != nil {
			c.broken = fmt.Errorf("%w: a call was abandoned", ErrBroken)
			return nil, ctx.Err()
		}
		if !errors.Is(err, wire.ErrTooLong) {
			c.broken = fmt.Errorf("%w: %w", ErrBroken, err)
			return nil, c.broken
		}
		return nil, err
	}
	return reply, nil
}

// roundTrip sends one call and reads its reply.
func (c *SocketConn) roundTrip(function string, args [][]byte) (*pb.CallReply, error) {
	c.seq++
	var err error
	c.out, err = wire.AppendFrame(wire.TrimBuffer(c.out), pb.FrameCall, c.seq, &pb.CallRequest{Function: function, Args: args})
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(c.out); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	c.waiting.Store(true)
	defer func() { c.in = wire.TrimBuffer(c.in) }()
	kind, seq, msg, err := wire.ReadFrame(c.r, &c.in)
	switch {
	case err != nil && errors.Is(err, wire.ErrTooLong):
		return nil, fmt.Errorf("the reply of %s: %w", function, err)
	case errors.Is(err, syscall.ECONNRESET):
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	case err != nil:
		return nil, err
	case kind != pb.FrameReply || seq != c.seq:
		return nil, fmt.Errorf("a frame of kind %q, number %d, to call %d", kind, seq, c.seq)
	}
	reply := &pb.CallReply{}
	if err := proto.Unmarshal(msg, reply); err != nil {
		return nil, fmt.Errorf("the reply of %s: %w", function, err)
	}
	return reply, nil
}

// Close closes the connection.
func (c *SocketConn) Close() error { return c.conn.Close() }
