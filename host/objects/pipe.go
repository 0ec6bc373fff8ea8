package objects

import (
	"context"
	"sync"
)

// PipeEnd is one end of a Pipe (Python's multiprocessing.Connection). What one end sends, the
// other receives, in order; the buffer between them is unbounded, so Send never waits. An end
// remembers which processes hold it: when all of them have died it closes, so the other end is
// not left waiting for messages that cannot come. Make a pair with NewPipe.
type PipeEnd struct {
	life
	inbox    *Queue // messages sent to this end, not yet received
	peer     *PipeEnd
	readable bool
	writable bool

	mu      sync.Mutex
	closed  bool
	holders map[Owner]struct{}
}

// NewPipe returns the two ends of a new pipe. A duplex pipe carries messages both ways; with
// duplex false, a only receives and b only sends. Nobody holds either end yet: record the
// creator with Hold.
func NewPipe(duplex bool) (a, b *PipeEnd) {
	a = &PipeEnd{inbox: NewQueue(0), readable: true, writable: duplex, holders: make(map[Owner]struct{})}
	b = &PipeEnd{inbox: NewQueue(0), readable: duplex, writable: true, holders: make(map[Owner]struct{})}
	a.peer, b.peer = b, a
	return a, b
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

// Send passes msg to the other end; the pipe keeps msg, so the caller must not change it
// afterwards. It returns ErrWrongDirection on the receive-only end, ErrClosed when either end
// is closed, and ErrOwnerDied when owner has died.
func (e *PipeEnd) Send(ctx context.Context, owner Owner, msg []byte) error {
	if !e.writable {
		return ErrWrongDirection
	}
	if e.dead(owner) {
		return ErrOwnerDied
	}
	if e.Closed() {
		return ErrClosed
	}
	return e.peer.inbox.Put(ctx, owner, msg, DontWait) // unbounded: ErrClosed or nil
}

// Recv returns the oldest message sent by the other end, waiting as w allows. It returns
// ErrEmpty when the wait ran out, ErrClosed when this end is closed, or when the other end is
// closed and every message has been received, ErrWrongDirection on the send-only end, and
// ctx.Err() when ctx ended the wait.
func (e *PipeEnd) Recv(ctx context.Context, w Wait) ([]byte, error) {
	if !e.readable {
		return nil, ErrWrongDirection
	}
	return e.inbox.Get(ctx, w)
}

// Poll waits as w allows and reports whether Recv would not block: true when a message is
// waiting or when the other end is closed and nothing is left (Recv then returns ErrClosed, as
// Python's poll is true at end of file). Errors are those of Recv.
func (e *PipeEnd) Poll(ctx context.Context, w Wait) (bool, error) {
	if !e.readable {
		return false, ErrWrongDirection
	}
	if e.Closed() {
		return false, ErrClosed
	}
	return e.inbox.poll(ctx, w)
}

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

// close closes this end once.
func (e *PipeEnd) close() {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if !already {
		e.inbox.discard()
		e.peer.inbox.Close()
	}
}

// died drops owner from the holders and closes the end when it was the last of them.
func (e *PipeEnd) died(owner Owner) {
	e.mu.Lock()
	_, held := e.holders[owner]
	delete(e.holders, owner)
	orphaned := held && len(e.holders) == 0
	e.mu.Unlock()
	if orphaned {
		e.close()
	}
}
