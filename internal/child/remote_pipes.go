package child

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/pipesock"
	"github.com/mphost/mphost/internal/vm"
)

// A child sends and receives on a pipe end over the end's own socket (see
// package pipesock), which it asks the host for when it first uses the end:
// the host sends a duplicate on the child's files socket, FilesFD. An end
// whose socket the child cannot have (no shared memory for its gate, the
// end is closed) goes through the host, as other objects' calls do.

// FilesFD is the child's file descriptor of the socket on which the host
// hands it the sockets of pipe ends.
const FilesFD = 6

// The ways a pipe end goes, in the N of the host's reply to a child's
// "open" call on it.
const (
	PipeReadable = 1 << iota
	PipeWritable
)

// files is this child's files socket; -1 when it has none.
var files = -1

// openFiles takes FilesFD as the files socket, if it is one.
func openFiles() {
	if typ, err := unix.GetsockoptInt(FilesFD, unix.SOL_SOCKET, unix.SO_TYPE); err == nil && typ == unix.SOCK_DGRAM {
		unix.CloseOnExec(FilesFD)
		files = FilesFD
	}
}

// receiveSocket takes the socket of pipe end id, which the host has sent
// on the files socket fd before it answered the "open" call; packets for
// other ends (of an "open" whose reply was lost) are dropped.
func receiveSocket(fd int, id uint64) (*os.File, error) {
	buf := make([]byte, 8)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("receiving the socket of pipe end %d: %w", id, err)
		}
		var fds []int
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				got, _ := unix.ParseUnixRights(&m)
				fds = append(fds, got...)
			}
		}
		if n == 8 && binary.BigEndian.Uint64(buf) == id && len(fds) == 1 {
			return os.NewFile(uintptr(fds[0]), "pipe"), nil
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// pipeSockets are the sockets of the pipe ends a process has used.
type pipeSockets struct {
	mu   sync.Mutex
	ends map[uint64]*pipeSocket // nil: the end goes through the host
}

// pipeSocket is a pipe end's socket, and the ways the end goes.
type pipeSocket struct {
	sock     *pipesock.Conn
	tally    *atomic.Uint64 // what this process counts on the gate, for the host (see host's openPipe)
	readable bool
	writable bool
}

// pipeSocket returns the socket of pipe end id, asking the host for it on
// first use; nil when the end goes through the host.
func (r *Remote) pipeSocket(ctx context.Context, id uint64) *pipeSocket {
	p := &r.pipes
	p.mu.Lock()
	ps, known := p.ends[id]
	p.mu.Unlock()
	if known {
		return ps
	}
	r.sweepPipes()
	ps = r.openPipe(ctx, id)
	p.mu.Lock()
	p.ends = setIn(p.ends, id, ps)
	p.mu.Unlock()
	return ps
}

// sweepPipes closes this process's sockets of the ends that are closed, or
// whose other end is (a long-lived process, a pool worker, may see many
// pipes come and go, and keep holding them): their calls go to the host,
// which says they are closed, or receives what is left from its own copy of
// the socket.
func (r *Remote) sweepPipes() {
	p := &r.pipes
	p.mu.Lock()
	var closed []*pipeSocket
	for id, ps := range p.ends {
		if ps != nil && ps.sock.Refuses() {
			closed = append(closed, ps)
			p.ends[id] = nil
		}
	}
	p.mu.Unlock()
	for _, ps := range closed {
		ps.sock.Close()
	}
}

// openPipe asks the host for the socket of pipe end id; nil when the child
// cannot have it.
func (r *Remote) openPipe(ctx context.Context, id uint64) *pipeSocket {
	gate := r.values.Word(id)
	if gate == nil || files < 0 {
		return nil
	}
	reply, err := r.calls.Invoke(ctx, CallToProto(vm.ObjectCall{ID: id, Op: ops.TransportOpen}))
	if err != nil {
		return nil // the host says why at the call that goes to it
	}
	f, err := receiveSocket(files, id)
	if err != nil {
		return nil
	}
	tally := r.values.Word(reply.Tally)
	if tally == nil {
		f.Close()
		return nil
	}
	sock, err := pipesock.Open(f, gate)
	if err != nil {
		return nil
	}
	return &pipeSocket{sock: sock, tally: tally, readable: reply.Ways&PipeReadable != 0, writable: reply.Ways&PipeWritable != 0}
}

// closePipe closes this process's socket of pipe end id, which is closed
// or which it closes; later calls on the end go to the host.
func (r *Remote) closePipe(id uint64) {
	p := &r.pipes
	p.mu.Lock()
	ps := p.ends[id]
	if ps != nil {
		p.ends[id] = nil
	}
	p.mu.Unlock()
	if ps != nil {
		ps.sock.Close()
	}
}

// closePipes closes the sockets of every pipe end, when the process ends.
func (r *Remote) closePipes() {
	p := &r.pipes
	p.mu.Lock()
	ends := p.ends
	p.ends = nil
	p.mu.Unlock()
	for _, ps := range ends {
		if ps != nil {
			ps.sock.Close()
		}
	}
}

// pipeInSocket performs a send, recv or poll on a pipe end over the end's
// socket; done is false when the call must go to the host instead: the end
// goes through the host, it does not go that way, or it is closed (the
// host says how).
func (r *Remote) pipeInSocket(ctx context.Context, call vm.ObjectCall) (reply vm.ObjectReply, done bool, err error) {
	switch call.Op {
	case ops.ConnectionSend, ops.ConnectionRecv, ops.ConnectionPoll:
	case ops.ConnectionClose:
		r.closePipe(call.ID)
		return reply, false, nil
	default:
		return reply, false, nil
	}
	if err := r.Flush(); err != nil {
		return reply, true, err
	}
	ps := r.pipeSocket(ctx, call.ID)
	if ps == nil {
		return reply, false, nil
	}
	deadline := pipesock.Deadline(call.Wait.Block, call.Wait.Forever, call.Wait.Timeout)
	switch {
	case call.Op == ops.ConnectionSend && ps.writable:
		return r.sendOnPipe(ps, call)
	case call.Op == ops.ConnectionRecv && ps.readable && !ps.sock.Closed():
		msg, held, err := ps.sock.Recv(ctx, deadline)
		switch {
		case errors.Is(err, pipesock.ErrTimeout):
			return vm.ObjectReply{Status: "empty"}, true, nil
		case errors.Is(err, pipesock.ErrClosed):
			r.closePipe(call.ID) // nothing more will come: the host answers from now on
			return vm.ObjectReply{Status: "closed"}, true, nil
		case err != nil:
			return reply, true, err
		case held != 0:
			// A large message, which the host holds.
			pbReply, err := r.calls.Invoke(ctx, CallToProto(vm.ObjectCall{ID: call.ID, Op: ops.TransportFetch, Message: held}))
			if err != nil {
				return reply, true, remoteError(err)
			}
			return ReplyFromProto(pbReply), true, nil
		}
		return vm.ObjectReply{OK: true, Value: vm.Value{Data: msg}}, true, nil
	case call.Op == ops.ConnectionPoll && ps.readable && !ps.sock.Closed():
		ok, err := ps.sock.Poll(ctx, deadline)
		return vm.ObjectReply{OK: ok}, true, err
	}
	return reply, false, nil
}

// sendOnPipe writes a message into the end's socket, or, when it cannot go
// there now, counts it on the end's gate and posts it to the host, which
// writes it after the messages it already has.
func (r *Remote) sendOnPipe(ps *pipeSocket, call vm.ObjectCall) (reply vm.ObjectReply, done bool, err error) {
	data := call.Value.Data
	if ps.sock.Refuses() {
		return reply, false, nil // an end is closed: the host says so, at once
	}
	if ps.sock.Direct(len(data)) {
		// What this process posted before (puts, an Event's set, a
		// release) is done before the message can be received.
		if err := r.calls.Settle(); err != nil {
			return reply, true, err
		}
		sent, err := ps.sock.TrySend(data)
		switch {
		case sent:
			return reply, true, nil
		case err != nil:
			r.closePipe(call.ID)
			return reply, false, nil // closed: the host says so
		}
	}
	// The gate first: killed in between, this process leaves the message
	// counted on the gate for good (its sends, and others', then go through
	// the host: slower, still in order), never taken off twice.
	ps.sock.Count()
	ps.tally.Add(1)
	if err := r.calls.Post(CallToProto(vm.ObjectCall{ID: call.ID, Op: ops.TransportRelay, Value: call.Value})); err != nil {
		ps.tally.Add(^uint64(0))
		ps.sock.Uncount()
		return reply, true, err
	}
	return reply, true, nil
}
