package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mphost/mphost/plugins/pipesock"
)

// PipeEnd is one end of a Pipe (Python's multiprocessing.Connection). What one end sends, the
// other receives, in order. The messages travel over the pipe's own sockets (package pipesock),
// which the host keeps and hands to the children that use the end, so that their sends and
// receives do not go through the host; Send never waits, as what the socket has no room for
// waits in the host. An end remembers which processes hold it: when all of them have died it
// closes, so the other end is not left waiting for messages that cannot come. Make a pair with
// NewPipe; Release it when it is no longer used.
type PipeEnd struct {
	life
	sock     *pipesock.Conn
	gate     atomic.Uint64 // the socket's gate until Share moves it
	shared   bool
	peer     *PipeEnd
	readable bool
	writable bool
	waiting  atomic.Int32 // Recv and Poll calls that wait on the socket, for tests

	mu      sync.Mutex
	closed  bool
	holders map[Owner]struct{}
	tallies map[Owner]tally // of the holders that have the socket (Socket)
}

// NewPipe returns the two ends of a new pipe. A duplex pipe carries messages both ways; with
// duplex false, a only receives and b only sends. Nobody holds either end yet: record the
// creator with Hold. The error is the system's, when it has no socket to give.
func NewPipe(duplex bool) (a, b *PipeEnd, err error) {
	fa, fb, err := pipesock.Pair()
	if errors.Is(err, syscall.EMFILE) {
		return nil, nil, fmt.Errorf("%w: the host holds two for each pipe until both its ends are closed; close the pipes you no longer use", err)
	}
	if err != nil {
		return nil, nil, err
	}
	a = &PipeEnd{readable: true, writable: duplex, holders: make(map[Owner]struct{})}
	b = &PipeEnd{readable: duplex, writable: true, holders: make(map[Owner]struct{})}
	if a.sock, err = pipesock.Open(fa, &a.gate); err != nil {
		fb.Close()
		return nil, nil, err
	}
	if b.sock, err = pipesock.Open(fb, &b.gate); err != nil {
		a.sock.Close()
		return nil, nil, err
	}
	a.peer, b.peer = b, a
	return a, b, nil
}

// Share moves the end's gate into word, in memory that children map, so that a child may use
// the end's socket itself (see Socket). Call it before anyone has the end.
func (e *PipeEnd) Share(word *atomic.Uint64) {
	if word != nil {
		e.sock.ShareGate(word)
		e.shared = true
	}
}

// Readable reports whether this end may receive.
func (e *PipeEnd) Readable() bool { return e.readable }

// Writable reports whether this end may send.
func (e *PipeEnd) Writable() bool { return e.writable }

// Hold records that owner holds this end: the process that made it, and each process that
// receives it. It returns ErrClosed when the end is closed and ErrOwnerDied when owner has died.
func (e *PipeEnd) Hold(owner Owner) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if e.dead(owner) {
		return ErrOwnerDied
	}
	e.holders[owner] = struct{}{}
	return nil
}

// Socket calls f with the end's socket, for owner, which holds the end, to use it itself: f
// hands a duplicate of the descriptor to owner's process. Socket also gives owner a tally, which
// it returns: the id of a word in shared memory that owner's process adds to whenever it counts
// a message on the gate (after the gate), and that the host takes from when that message
// reaches it (Relay). When owner dies, what it counted and never handed over is taken off the
// gate. newTally makes the tally the first time; an owner that asks again gets the same one.
// Socket returns ErrClosed when the end is closed, ErrOwnerDied when owner has died, and
// ErrNotShared when no child may use the socket (the gate or the tally is not in shared memory).
func (e *PipeEnd) Socket(owner Owner, newTally func() (id uint64, word *atomic.Uint64), f func(fd int) error) (tallyID uint64, err error) {
	if err := e.Hold(owner); err != nil {
		return 0, err
	}
	if !e.shared {
		return 0, ErrNotShared
	}
	e.mu.Lock()
	t, ok := e.tallies[owner]
	if !ok {
		t.id, t.word = newTally()
		if t.word == nil {
			e.mu.Unlock()
			return 0, ErrNotShared
		}
		if e.tallies == nil {
			e.tallies = make(map[Owner]tally)
		}
		e.tallies[owner] = t
	}
	e.mu.Unlock()
	return t.id, e.sock.Control(f)
}

// tally is a word in shared memory and its id (see PipeEnd.Socket).
type tally struct {
	id   uint64
	word *atomic.Uint64
}

// ErrNotShared is returned by Socket when the end's gate, or the owner's tally, is not in
// shared memory.
var ErrNotShared = errors.New("this pipe end is not shared with children")

// Send passes msg to the other end; the pipe keeps a copy, so the caller may reuse msg. It
// returns ErrWrongDirection on the receive-only end, ErrClosed when either end is closed, and
// ErrOwnerDied when owner has died.
func (e *PipeEnd) Send(ctx context.Context, owner Owner, msg []byte) error {
	if err := e.sendable(owner); err != nil {
		return err
	}
	return closedError(e.sock.Send(msg))
}

// Relay sends msg as Send does, for a child that found that it could not write msg into the
// socket itself, and has already counted it on the gate (pipesock.Conn.Count): msg goes to the
// backlog, after the messages already there.
func (e *PipeEnd) Relay(owner Owner, msg []byte) error {
	e.mu.Lock()
	if t, ok := e.tallies[owner]; ok {
		t.word.Add(^uint64(0)) // it has reached the host
	}
	e.mu.Unlock()
	if err := e.sendable(owner); err != nil {
		e.sock.Uncount()
		return err
	}
	return closedError(e.sock.Enqueue(msg, true))
}

func (e *PipeEnd) sendable(owner Owner) error {
	switch {
	case !e.writable:
		return ErrWrongDirection
	case e.dead(owner):
		return ErrOwnerDied
	case e.Closed() || e.peer.Closed():
		return ErrClosed
	}
	return nil
}

func closedError(err error) error {
	if errors.Is(err, pipesock.ErrClosed) {
		return ErrClosed
	}
	return err
}

// Recv returns the oldest message sent by the other end, waiting as w allows. It returns
// ErrEmpty when the wait ran out, ErrClosed when this end is closed, or when the other end is
// closed and every message has been received, ErrWrongDirection on the send-only end, and
// ctx.Err() when ctx ended the wait.
func (e *PipeEnd) Recv(ctx context.Context, w Wait) ([]byte, error) {
	if err := e.receivable(); err != nil {
		return nil, err
	}
	e.waiting.Add(1)
	msg, held, err := e.sock.Recv(ctx, w.deadline())
	e.waiting.Add(-1)
	switch {
	case errors.Is(err, pipesock.ErrTimeout):
		return nil, ErrEmpty
	case err != nil:
		return nil, closedError(err)
	case held != 0:
		return e.Take(held)
	}
	return msg, nil
}

// Take returns the message that the host holds under id, which a receiver of this end read
// from the socket in its place (see package pipesock). It returns ErrClosed when there is
// none: the end was closed.
func (e *PipeEnd) Take(id uint64) ([]byte, error) {
	msg, ok := e.peer.sock.Take(id)
	if !ok {
		return nil, ErrClosed
	}
	return msg, nil
}

func (e *PipeEnd) receivable() error {
	switch {
	case !e.readable:
		return ErrWrongDirection
	case e.Closed():
		return ErrClosed
	}
	return nil
}

// Poll waits as w allows and reports whether Recv would not block: true when a message is
// waiting or when the other end is closed and nothing is left (Recv then returns ErrClosed, as
// Python's poll is true at end of file). Errors are those of Recv.
func (e *PipeEnd) Poll(ctx context.Context, w Wait) (bool, error) {
	if err := e.receivable(); err != nil {
		return false, err
	}
	e.waiting.Add(1)
	defer e.waiting.Add(-1)
	return e.sock.Poll(ctx, w.deadline())
}

// deadline is w as the time a socket's receive stops waiting.
func (w Wait) deadline() time.Time { return pipesock.Deadline(w.Block, w.Forever, w.Timeout) }

// Close closes this end for every process that holds it: messages not yet received here are
// dropped, sends to it fail, and the other end receives what is left, then ErrClosed. owner no
// longer holds it. Closing twice is harmless.
func (e *PipeEnd) Close(owner Owner) {
	e.mu.Lock()
	delete(e.holders, owner)
	e.mu.Unlock()
	e.close()
}

// Closed reports whether this end is closed.
func (e *PipeEnd) Closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// close closes this end once; once both ends are closed, the host's sockets are released.
func (e *PipeEnd) close() {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if already {
		return
	}
	e.sock.Shut()
	e.peer.sock.PeerClosed()
	e.peer.sock.Drop() // what the other end sent here
	if e.peer.Closed() {
		e.Release()
	}
}

// Release closes both ends and lets their sockets go: the host calls it when it stops.
func (e *PipeEnd) Release() {
	ends := []*PipeEnd{e, e.peer}
	for _, end := range ends {
		end.mu.Lock()
		end.closed = true
		end.mu.Unlock()
		end.sock.Shut()
	}
	for _, end := range ends {
		end.sock.Close()
	}
}

// died drops owner from the holders and closes the end when it was the last of them.
func (e *PipeEnd) died(owner Owner) {
	e.mu.Lock()
	_, held := e.holders[owner]
	delete(e.holders, owner)
	orphaned := held && len(e.holders) == 0
	if t, ok := e.tallies[owner]; ok {
		// Its calls have all been served: what it counted on the gate
		// and did not hand over (it was killed in between) never will be.
		delete(e.tallies, owner)
		e.sock.Discount(t.word.Swap(0))
	}
	e.mu.Unlock()
	if orphaned {
		e.close()
	}
}
