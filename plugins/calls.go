package plugins

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"

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
// A caller closes its connection when it stops waiting for a call: the
// connection's context, which the running call's Lua state watches, ends
// when a read finds it closed.
func (s *server) serveConn(conn net.Conn) {
	defer conn.Close()
	ctx, gone := context.WithCancel(context.Background())
	defer gone()
	calls := make(chan incoming)
	go func() {
		defer gone()
		readCalls(ctx, conn, calls)
	}()
	var out []byte
	for {
		var in incoming
		select {
		case in = <-calls:
		case <-ctx.Done():
			return
		}
		reply := in.reply
		if reply == nil {
			reply = s.call(ctx, in.req)
		}
		var err error
		if out, err = wire.AppendFrame(wire.TrimBuffer(out), pb.FrameReply, in.seq, reply); err != nil {
			out, _ = wire.AppendFrame(out, pb.FrameReply, in.seq, &pb.CallReply{Failure: err.Error()})
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// incoming is a call read from a connection: its request, or the reply of
// a frame that is not one.
type incoming struct {
	seq   uint64
	req   *pb.CallRequest
	reply *pb.CallReply
}

// readCalls reads the calls of conn and hands each to calls, until the
// connection ends or ctx is done.
func readCalls(ctx context.Context, conn net.Conn, calls chan<- incoming) {
	r := bufio.NewReaderSize(conn, 64<<10)
	var buf []byte
	for {
		kind, seq, msg, err := wire.ReadFrame(r, &buf)
		in := incoming{seq: seq}
		switch {
		case err != nil && !errors.Is(err, wire.ErrTooLong):
			return
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
		buf = wire.TrimBuffer(buf)
		select {
		case calls <- in:
		case <-ctx.Done():
			return
		}
	}
}
