package objects

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/pipesock"
)

// PipeEnd is one end of a Pipe (Python's multiprocessing.Connection). What one end sends, the
// other receives, in order. The messages travel over the pipe's own sockets (package pipesock),
// which the host keeps and hands to the children that use the end, so that their sends and
// receives do not go through the host; what the socket has no room for waits in the host, up
// to the pipe's capacity, past which a send waits for the reader. What holds an end, as each
// process holds a file descriptor, is counted by the Registry with every other object's holds
// (see Registry.Adjust and Registry.Close): when nothing holds it any more, the Registry
// closes it, so the other end is not left waiting for messages that cannot come. The end
// itself remembers which processes closed it (use after close). Make a pair with NewPipe;
// Release it when it is no longer used.
type PipeEnd struct {
	life
	sock     *pipesock.Conn
	gate     atomic.Uint64 // the socket's gate until Share moves it
	shared   bool
	peer     *PipeEnd
	pair     *pair // shared with peer
	readable bool
	writable bool
	waiting  atomic.Int32 // Recv and Poll calls that wait on the socket, for tests

	mu       sync.Mutex
	closed   bool
	closedBy map[Owner]struct{} // processes that closed their hold and have not received it again
	tallies  map[Owner]tally    // of the holders that have the socket (Socket)
}

// PipeBudget is what the host holds, at most, of the messages not yet received on all its pipes
// together (each also within its own capacity): four pipes full at the default capacity. So a
// run that makes a thousand pipes and floods them all stays within a few hundred MB, whatever
// the machine, while a few busy pipes still get their whole capacity.
const PipeBudget = 4 * pipesock.DefaultCapacity

// pipeBudget is shared by the pipes of every Registry of this process: it bounds the process's
// memory.
var pipeBudget = pipesock.NewBudget(PipeBudget)

// NewPipe returns the two ends of a new pipe. A duplex pipe carries messages both ways; with
// duplex false, a only receives and b only sends. Each direction holds up to capacity bytes
// not yet received (pipesock.DefaultCapacity when capacity is 0 or less), past which a send
// waits. Add each end to a Registry with AddHeld, which counts what holds it. The error is the
// system's, when it has no socket to give.
func NewPipe(duplex bool, capacity int64) (a, b *PipeEnd, err error) {
	if capacity <= 0 {
		capacity = pipesock.DefaultCapacity
	}
	fa, fb, err := pipesock.Pair()
	if errors.Is(err, syscall.EMFILE) {
		return nil, nil, fmt.Errorf("%w: the host holds a file for each pipe end until it is closed; close the pipes you no longer use", err)
	}
	if err != nil {
		return nil, nil, err
	}
	a = &PipeEnd{readable: true, writable: duplex}
	b = &PipeEnd{readable: duplex, writable: true}
	if a.sock, err = pipesock.Open(fa, &a.gate); err != nil {
		fb.Close()
		return nil, nil, err
	}
	if b.sock, err = pipesock.Open(fb, &b.gate); err != nil {
		a.sock.Close()
		return nil, nil, err
	}
	a.sock.Bound(capacity, pipeBudget)
	b.sock.Bound(capacity, pipeBudget)
	a.peer, b.peer = b, a
	a.pair = &pair{}
	b.pair = a.pair
	return a, b, nil
}

// pair is what the two ends of a pipe share: the release of their sockets, and the ids of the
// ends the Registry has freed, whose indexes wait for it. Until both ends are closed and the
// sockets let go, the host still writes to each end's gate (the other end's close marks it, the
// backlog's writer takes its messages off it), so an index handed out earlier would give the
// next object a slot that a dead pipe still writes to.
type pair struct {
	release  sync.Once
	mu       sync.Mutex
	released bool         // the sockets are closed: no gate is written to any more
	retired  []retiredEnd // ends freed before that
}

// retiredEnd is the id of a freed end and the Registry that hands its index out again.
type retiredEnd struct {
	r  *Registry
	id uint64
}

// retire hands id, the freed id of this end, to r to be used again once the pipe's sockets are
// released (at once if they are).
func (e *PipeEnd) retire(r *Registry, id uint64) {
	e.pair.mu.Lock()
	if !e.pair.released {
		e.pair.retired = append(e.pair.retired, retiredEnd{r, id})
		e.pair.mu.Unlock()
		return
	}
	e.pair.mu.Unlock()
	r.recycle([]uint64{id})
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

// Socket calls f with the end's socket, for owner, which holds the end, to use it itself: f
// hands a duplicate of the descriptor to owner's process. Socket also gives owner a tally, which
// it returns: the id of a word in shared memory that owner's process adds to whenever it counts
// a message on the gate (after the gate), and that the host takes from when that message
// reaches it (Relay). When owner dies, what it counted and never handed over is taken off the
// gate. newTally makes the tally the first time; an owner that asks again gets the same one.
// Socket returns ErrClosed when the end is closed, ErrOwnerDied when owner has died,
// ErrUseAfterClose when owner closed it, and ErrNotShared when no child may use the socket (the
// gate or the tally is not in shared memory).
func (e *PipeEnd) Socket(owner Owner, newTally func() (id uint64, word *atomic.Uint64), f func(fd int) error) (tallyID uint64, err error) {
	e.mu.Lock()
	_, closedByOwner := e.closedBy[owner]
	switch {
	case closedByOwner:
		err = ErrUseAfterClose
	case e.closed:
		err = ErrClosed
	case e.dead(owner):
		err = ErrOwnerDied
	case !e.shared:
		err = ErrNotShared
	}
	if err != nil {
		e.mu.Unlock()
		return 0, err
	}
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

// ErrUseAfterClose is returned by a send, receive or poll of a process on a pipe end that it
// closed.
var ErrUseAfterClose = errors.New("this process closed the pipe end")

// ErrNotShared is returned by Socket when the end's gate, or the owner's tally, is not in
// shared memory.
var ErrNotShared = errors.New("this pipe end is not shared with children")

// Send passes msg to the other end; the pipe keeps a copy, so the caller may reuse msg; a msg
// that fails to go is dropped (Registry.OnDrop). When
// the pipe holds its capacity unread (or the host holds its budget for all pipes), Send waits
// until the reader has read enough, or ctx ends (ctx.Err()); a message larger than the
// capacity waits until the pipe is empty. It
// returns ErrWrongDirection on the receive-only end, ErrClosed when either end is closed,
// ErrUseAfterClose when owner closed it, and ErrOwnerDied when owner has died.
func (e *PipeEnd) Send(ctx context.Context, owner Owner, msg []byte) error {
	err := e.sendable(owner)
	if err == nil {
		err = closedError(e.sock.Send(ctx, msg))
	}
	if err != nil {
		e.dropped(msg)
	}
	return err
}

// Relay sends msg as Send does, for a child that found that it could not write msg into the
// socket itself, and has already counted it on the gate (pipesock.Conn.Count): msg goes to the
// backlog, after the messages already there, once the pipe has room for it (see Send); a msg
// that fails to go is dropped (Registry.OnDrop).
func (e *PipeEnd) Relay(ctx context.Context, owner Owner, msg []byte) error {
	e.mu.Lock()
	if t, ok := e.tallies[owner]; ok {
		t.word.Add(^uint64(0)) // it has reached the host
	}
	e.mu.Unlock()
	err := e.sendable(owner)
	if err != nil {
		e.sock.Uncount()
	} else {
		err = closedError(e.sock.Enqueue(ctx, msg, true))
	}
	if err != nil {
		e.dropped(msg)
	}
	return err
}

func (e *PipeEnd) sendable(owner Owner) error {
	switch {
	case e.closedByOwner(owner):
		return ErrUseAfterClose
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

// Recv returns the oldest message sent by the other end, for owner, waiting as w allows. It
// returns ErrEmpty when the wait ran out, ErrClosed when this end is closed, or when the other
// end is closed and every message has been received, ErrUseAfterClose when owner closed it,
// ErrWrongDirection on the send-only end, and ctx.Err() when ctx ended the wait.
func (e *PipeEnd) Recv(ctx context.Context, owner Owner, w Wait) ([]byte, error) {
	if err := e.receivable(owner); err != nil {
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

func (e *PipeEnd) receivable(owner Owner) error {
	switch {
	case e.closedByOwner(owner):
		return ErrUseAfterClose
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
func (e *PipeEnd) Poll(ctx context.Context, owner Owner, w Wait) (bool, error) {
	if err := e.receivable(owner); err != nil {
		return false, err
	}
	e.waiting.Add(1)
	defer e.waiting.Add(-1)
	return e.sock.Poll(ctx, w.deadline())
}

// deadline is w as the time a socket's receive stops waiting.
func (w Wait) deadline() time.Time { return pipesock.Deadline(w.Block, w.Forever, w.Timeout) }

// closeFor records that owner closed its hold on this end (Registry.Close).
func (e *PipeEnd) closeFor(owner Owner) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closedBy == nil {
		e.closedBy = make(map[Owner]struct{})
	}
	e.closedBy[owner] = struct{}{}
}

// reopenFor records that owner, which closed its hold on this end, received the end again.
func (e *PipeEnd) reopenFor(owner Owner) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.closedBy, owner)
}

// takeTallies returns the ids of the holders' tallies and forgets them: the end is closed.
func (e *PipeEnd) takeTallies() []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]uint64, 0, len(e.tallies))
	for _, t := range e.tallies {
		ids = append(ids, t.id)
	}
	e.tallies = nil
	return ids
}

// closedByOwner reports whether owner closed its hold on the end.
func (e *PipeEnd) closedByOwner(owner Owner) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, closed := e.closedBy[owner]
	return closed
}

// Closed reports whether this end is closed.
func (e *PipeEnd) Closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// close closes this end once, for every process: messages not yet received here are dropped,
// sends to it fail, and the other end receives what is left, then ErrClosed. The host's socket
// of this end is closed once what is left is written; once both ends are closed, the pipe is
// released.
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
		return
	}
	e.sock.CloseWhenWritten() // the host keeps one file for the pipe while its peer is open
}

// Release closes both ends and lets their sockets go: the host calls it when it stops. Then
// the ids of the ends that the Registry freed are handed out again. Releasing twice is harmless.
func (e *PipeEnd) Release() {
	e.pair.release.Do(func() {
		ends := []*PipeEnd{e, e.peer}
		for _, end := range ends {
			end.mu.Lock()
			end.closed = true
			end.mu.Unlock()
			end.sock.Shut()
		}
		for _, end := range ends {
			end.sock.Close() // and its backlog's writer is done
		}
	})
	e.pair.mu.Lock()
	e.pair.released = true
	retired := e.pair.retired
	e.pair.retired = nil
	e.pair.mu.Unlock()
	for _, re := range retired {
		re.r.recycle([]uint64{re.id})
	}
}

// attach also has the end's socket tell the Registry of the messages it drops: what the other
// end sent and nobody received when this end closes.
func (e *PipeEnd) attach(r *Registry) {
	e.life.attach(r)
	e.sock.OnDrop(func(msg []byte) { e.dropped(msg) })
}

// died forgets owner, which died or no longer has the end, and takes off the gate what it
// counted and never handed over.
func (e *PipeEnd) died(owner Owner) {
	e.mu.Lock()
	delete(e.closedBy, owner)
	if t, ok := e.tallies[owner]; ok {
		// Its calls have all been served: what it counted on the gate
		// and did not hand over (it was killed in between) never will be.
		delete(e.tallies, owner)
		n := t.word.Swap(0)
		if !e.closed { // a closed end's gate refuses every send, and may be freed
			e.sock.Discount(n)
		}
	}
	e.mu.Unlock()
}
