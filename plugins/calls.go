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

// The run's child processes call a plugin on its call socket, a unix
// socket beside go-plugin's, in frames of internal/wire: a gRPC call costs
// several times a round trip on a socket. Each connection is one caller's,
// which makes one call at a time: its calls run in turn on the goroutine
// that reads them, and calls of different connections at once.

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
	var in, out []byte
	for {
		kind, seq, msg, err := wire.ReadFrame(r, &in)
		var reply *pb.CallReply
		switch {
		case err != nil && !errors.Is(err, wire.ErrTooLong):
			return
		case err != nil:
			reply = &pb.CallReply{Failure: err.Error()}
		case kind != pb.FrameCall:
			reply = &pb.CallReply{Failure: "not a call"}
		default:
			var req pb.CallRequest
			if err := proto.Unmarshal(msg, &req); err != nil {
				reply = &pb.CallReply{Failure: "a call that does not parse: " + err.Error()}
			} else {
				reply = s.call(context.Background(), &req)
			}
		}
		if out, err = wire.AppendFrame(wire.TrimBuffer(out), pb.FrameReply, seq, reply); err != nil {
			out, _ = wire.AppendFrame(out, pb.FrameReply, seq, &pb.CallReply{Failure: err.Error()})
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
		in = wire.TrimBuffer(in)
	}
}
