package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"

	pb "github.com/mphost/mphost/internal/pluginproto"
)

// Conn carries the host's calls to one plugin process on one gRPC stream,
// on go-plugin's connection: many calls at once, each reply matched to its
// call by id.
type Conn struct {
	client pb.ModuleClient
	stream grpc.BidiStreamingClient[pb.CallRequest, pb.CallReply]
	cancel context.CancelFunc
	closer func() error // closes a connection of the Conn's own

	sending sync.Mutex // one Send at a time

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan<- *pb.CallReply
	broken  error         // why the stream ended; set once, with done closed
	done    chan struct{} // closed when the stream has ended
}

// ErrBroken is in the error of a call whose connection to the plugin
// ended before its reply came.
var ErrBroken = errors.New("the connection to the plugin ended")

// newConn opens the call stream on client.
func newConn(client pb.ModuleClient, closer func() error) (*Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := client.Calls(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	c := &Conn{client: client, stream: stream, cancel: cancel, closer: closer,
		pending: make(map[uint64]chan<- *pb.CallReply), done: make(chan struct{})}
	go c.receive()
	return c, nil
}

// receive hands each reply to its call until the stream ends, then fails
// the calls still waiting.
func (c *Conn) receive() {
	for {
		reply, err := c.stream.Recv()
		if err != nil {
			c.mu.Lock()
			c.broken = err
			c.pending = nil
			close(c.done)
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		ch := c.pending[reply.Id]
		delete(c.pending, reply.Id)
		c.mu.Unlock()
		if ch != nil {
			ch <- reply
		}
	}
}

// Call calls a function of the plugin with encoded arguments and returns
// its reply. The error is for the call itself (ctx done, the connection
// ended, wrapping [ErrBroken]); an error the function raised is in the
// reply.
func (c *Conn) Call(ctx context.Context, function string, args [][]byte) (*pb.CallReply, error) {
	ch := make(chan *pb.CallReply, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.mu.Unlock()
		return nil, c.brokenError()
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()

	c.sending.Lock()
	err := c.stream.Send(&pb.CallRequest{Id: id, Function: function, Args: args})
	c.sending.Unlock()
	if err != nil {
		<-c.done // a failed Send means the stream has ended; Recv says why
		return nil, c.brokenError()
	}
	select {
	case reply := <-ch:
		return reply, nil
	case <-c.done:
		select {
		case reply := <-ch: // it came just before the end
			return reply, nil
		default:
			return nil, c.brokenError()
		}
	case <-ctx.Done():
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, id)
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Info asks the plugin to describe its module.
func (c *Conn) Info(ctx context.Context) (*pb.InfoReply, error) {
	return c.client.Info(ctx, &pb.Empty{})
}

func (c *Conn) brokenError() error {
	<-c.done
	if c.broken == nil || strings.Contains(c.broken.Error(), "EOF") {
		return ErrBroken
	}
	return fmt.Errorf("%w: %v", ErrBroken, c.broken)
}

// Close ends the call stream, and the connection when it is the Conn's own.
// Calls waiting fail.
func (c *Conn) Close() error {
	c.cancel()
	<-c.done
	if c.closer != nil {
		return c.closer()
	}
	return nil
}
