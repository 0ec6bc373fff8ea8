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
	var watches watchList
	stop := make(chan struct{})
	defer close(stop)
	go watches.watch(stop)
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go s.serveConn(conn, &watches)
	}
}

// serveConn runs the calls of one connection until the caller closes it.
func (s *server) serveConn(conn net.Conn, watches *watchList) {
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	w := &callWatch{conn: conn, r: r}
	watches.add(w)
	defer watches.remove(w)
	var buf, out []byte
	for {
		in, err := readCall(r, &buf)
		if err != nil {
			return
		}
		reply := in.reply
		if reply == nil {
			ctx := w.start()
			reply = s.call(ctx, in.req)
			w.end()
		}
		if out, err = wire.AppendFrame(wire.TrimBuffer(out), pb.FrameReply, in.seq, reply); err != nil {
			out, _ = wire.AppendFrame(out, pb.FrameReply, in.seq, &pb.CallReply{Failure: err.Error()})
		}
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// watchAfter is how long a call runs before its connection is watched, and
// how often the watch list is looked at.
const watchAfter = 10 * time.Millisecond

// callWatch lets a running call end when its caller closes the connection,
// which a caller does when it stops waiting. A caller sends nothing while
// its call runs, so a call that runs past watchAfter gets a goroutine that
// peeks at the connection (without taking what it reads) until the call
// ends. A short call pays for no goroutine and no timer of its own: one
// ticker per plugin (watchList) finds the long ones.
type callWatch struct {
	conn net.Conn
	r    *bufio.Reader

	mu      sync.Mutex
	running bool
	since   time.Time
	cancel  context.CancelFunc
	peeking bool
	peeker  sync.WaitGroup
}

// start marks a call as running and returns its context.
func (w *callWatch) start() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.running, w.since, w.cancel = true, time.Now(), cancel
	w.mu.Unlock()
	return ctx
}

// end marks the call as ended, and stops the peek if one began.
func (w *callWatch) end() {
	w.mu.Lock()
	peeking, cancel := w.peeking, w.cancel
	w.running, w.peeking, w.cancel = false, false, nil
	w.mu.Unlock()
	cancel()
	if peeking {
		w.conn.SetReadDeadline(time.Now()) // ends the peek; the reader forgets its error
		w.peeker.Wait()
		w.conn.SetReadDeadline(time.Time{})
	}
}

// check starts the peek of a call that has run past watchAfter.
func (w *callWatch) check(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || w.peeking || now.Sub(w.since) < watchAfter {
		return
	}
	w.peeking = true
	cancel := w.cancel
	w.peeker.Go(func() {
		if _, err := w.r.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			cancel() // the caller closed the connection
		}
	})
}

// watchList is a plugin's connections, which one goroutine looks at every
// watchAfter for calls that run long.
type watchList struct {
	mu    sync.Mutex
	conns map[*callWatch]struct{}
}

func (l *watchList) add(w *callWatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		l.conns = make(map[*callWatch]struct{})
	}
	l.conns[w] = struct{}{}
}

func (l *watchList) remove(w *callWatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, w)
}

// watch looks at the connections every watchAfter until stop is closed.
func (l *watchList) watch(stop <-chan struct{}) {
	tick := time.NewTicker(watchAfter)
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			l.mu.Lock()
			for w := range l.conns {
				w.check(now)
			}
			l.mu.Unlock()
		case <-stop:
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
