package objects

import (
	"context"
	"slices"
	"sync"
)

// Barrier makes a fixed number of parties wait for each other (Python's threading.Barrier, which
// multiprocessing.Barrier is): each call to Wait blocks until parties calls are waiting, then
// all return. A barrier breaks when a wait times out or is cancelled, when a waiting party dies,
// or on Abort; every waiting and later call then fails with ErrBroken until Reset. Make one with
// NewBarrier.
type Barrier struct {
	life
	mu      sync.Mutex
	parties int
	timeout Wait
	round   *barrierRound // the parties gathering now
	broken  bool
}

// barrierRound is one filling of the barrier. done is closed when the round ends, released or
// broken; the fields are guarded by the Barrier's mutex.
type barrierRound struct {
	done    chan struct{}
	arrived []Owner // in order of arrival: the index of each is its position
	ended   bool
	broken  bool
}

// NewBarrier returns a barrier for parties parties (at least 1) whose waits use timeout when
// their own Wait is WaitForever (Python's Barrier(parties, timeout=...)). WaitForever, or any
// timeout without Block such as the zero Wait, means no default timeout; WaitUpTo(0) makes
// every wait but the last break the barrier at once, as timeout=0 does in Python.
func NewBarrier(parties int, timeout Wait) *Barrier {
	if !timeout.Block {
		timeout = WaitForever
	}
	return &Barrier{parties: max(parties, 1), timeout: timeout, round: newBarrierRound()}
}

func newBarrierRound() *barrierRound { return &barrierRound{done: make(chan struct{})} }

// Wait waits until all parties are waiting and returns this party's index: 0 for the first to
// arrive up to parties-1 for the last, which releases the others. w is how long to wait;
// WaitForever means the barrier's default timeout, as timeout=None does in Python, and a wait
// that cannot block fails at once unless it completes the barrier. It returns ErrBroken when the
// barrier is or becomes broken, including by this wait timing out; when ctx ends the wait it
// breaks the barrier and returns ctx.Err(); ErrOwnerDied when owner has died.
func (b *Barrier) Wait(ctx context.Context, owner Owner, w Wait) (index int, err error) {
	b.mu.Lock()
	if b.dead(owner) {
		b.mu.Unlock()
		return 0, ErrOwnerDied
	}
	if b.broken {
		b.mu.Unlock()
		return 0, ErrBroken
	}
	r := b.round
	index = len(r.arrived)
	r.arrived = append(r.arrived, owner)
	if index+1 == b.parties {
		b.end(false)
		b.mu.Unlock()
		return index, nil
	}
	if w.Forever {
		w = b.timeout
	}
	if !w.mayBlock() {
		b.end(true)
		b.mu.Unlock()
		return 0, ErrBroken
	}
	b.mu.Unlock()

	d := w.start()
	err = d.await(ctx, r.done)
	d.stop()

	b.mu.Lock()
	defer b.mu.Unlock()
	if !r.ended { // the wait ran out or was cancelled: the others would wait in vain
		b.end(true)
	}
	switch {
	case !r.broken:
		return index, nil
	case err != nil && err != errTimedOut:
		return 0, err
	}
	return 0, ErrBroken
}

// Reset returns the barrier to its empty, unbroken state; parties waiting now get ErrBroken.
func (b *Barrier) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.round.arrived) > 0 {
		b.end(true)
	}
	b.broken = false
}

// Abort breaks the barrier: parties waiting now, and every later Wait until Reset, get
// ErrBroken.
func (b *Barrier) Abort() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.end(true)
}

// Parties is the number of parties needed to pass the barrier.
func (b *Barrier) Parties() int { return b.parties }

// NWaiting is the number of parties waiting now.
func (b *Barrier) NWaiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken {
		return 0
	}
	return len(b.round.arrived)
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

// end ends the current round, released or broken, and starts the next. Breaking also marks the
// barrier broken. The caller holds b.mu.
func (b *Barrier) end(broken bool) {
	r := b.round
	r.ended, r.broken = true, broken
	close(r.done)
	b.round = newBarrierRound()
	if broken {
		b.broken = true
	}
}

// died breaks the barrier if owner is waiting at it.
func (b *Barrier) died(owner Owner) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if slices.Contains(b.round.arrived, owner) {
		b.end(true)
	}
}
