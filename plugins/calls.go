package plugins

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/protobuf/proto"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/wire"
)

// The run's processes call a plugin on its call socket, a unix socket
// beside go-plugin's, in frames of internal/wire: the host for its main
// script, the child processes directly. A gRPC call costs several times a
// round trip on a socket. Each connection is one caller's, which makes one
// call at a time: its calls run in turn, and calls of different
// connections at once.

// listenCalls opens the call socket in the plugin's socket folder, which
// mphost makes and removes; nil when there is none (the plugin was not
// started by mphost, and will not serve).
func listenCalls() (net.Listener, error) {
	dir := os.Getenv(plugin.EnvUnixSocketDir)
	if dir == "" {
		return nil, nil
	}
	f, err := os.CreateTemp(dir, "calls")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	os.Remove(path)
	return net.Listen("unix", path)
}

// serveCalls serves every connection to the call socket until it is closed.
func (s *server) serveCalls(l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go s.serveConn(conn)
	}
}

// serveConn runs the calls of one connection until the caller closes it.
func (s *server) serveConn(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	var buf, out []byte
	for {
		in, err := readCall(r, &buf)
		if err != nil {
			return
		}
		reply := in.reply
		if reply == nil {
			reply = s.callWatched(conn, r, in.req)
		}
		if out, err = wire.AppendFrame(wire.TrimBuffer(out), pb.FrameReply, in.seq, reply); err != nil {
			out, _ = wire.AppendFrame(out, pb.FrameReply, in.seq, &pb.CallReply{Failure: err.Error()})
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// watchAfter is how long a call runs before its connection is watched.
const watchAfter = 5 * time.Millisecond

// callWatched runs req with a context that ends when the caller closes the
// connection, which a caller does when it stops waiting for the call. A
// caller sends nothing while its call runs, so a call that runs past
// watchAfter has a goroutine peek at the connection (without taking what it
// reads) until the call ends; a short call pays for no goroutine.
func (s *server) callWatched(conn net.Conn, r *bufio.Reader, req *pb.CallRequest) *pb.CallReply {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var done, watching bool
	var watcher sync.WaitGroup
	timer := time.AfterFunc(watchAfter, func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		watching = true
		watcher.Go(func() {
			if _, err := r.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				cancel() // the caller closed the connection
			}
		})
	})
	reply := s.call(ctx, req)
	timer.Stop()
	mu.Lock()
	done = true
	mu.Unlock()
	if watching {
		conn.SetReadDeadline(time.Now()) // ends the peek; the reader forgets its error
		watcher.Wait()
		conn.SetReadDeadline(time.Time{})
	}
	return reply
}

// incoming is a call read from a connection: its request, or the reply of
// a frame that is not one.
type incoming struct {
	seq   uint64
	req   *pb.CallRequest
	reply *pb.CallReply
}

// readCall reads the next call of a connection; an error means the
// connection ended.
func readCall(r *bufio.Reader, buf *[]byte) (incoming, error) {
	kind, seq, msg, err := wire.ReadFrame(r, buf)
	in := incoming{seq: seq}
	switch {
	case err != nil && !errors.Is(err, wire.ErrTooLong):
		return in, err
	case err != nil:
		in.reply = &pb.CallReply{Failure: err.Error()}
	case kind != pb.FrameCall:
		in.reply = &pb.CallReply{Failure: "not a call"}
	default:
		in.req = &pb.CallRequest{}
		if err := proto.Unmarshal(msg, in.req); err != nil {
			in.reply = &pb.CallReply{Failure: "a call that does not parse: " + err.Error()}
		}
	}
	*buf = wire.TrimBuffer(*buf)
	return in, nil
}
