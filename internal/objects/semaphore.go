package objects

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/mphost/mphost/internal/slots"
)

// Semaphore is a counter of permits (Python's multiprocessing.Semaphore and, when bounded,
// BoundedSemaphore). Acquire takes a permit, waiting while there is none; Release adds one.
// Waiters get permits in the order they asked. The semaphore remembers how many permits each
// process holds (acquired and not yet released) so that a dead process's permits can be
// returned. Make one with NewSemaphore.
type Semaphore struct {
	life
	mem       atomic.Pointer[slots.Semaphore] // set: the permits are there (Share), not below
	mu        sync.Mutex
	value     int
	initial   int
	bounded   bool
	held      map[Owner]int // permits acquired and not released, per process
	heldTotal int           // sum of held
	abandoned int           // free permits returned by dead processes, told to their takers
	waiters   waitList
}

// NewSemaphore returns a semaphore with value permits (a negative value counts as 0). A bounded
// semaphore refuses to be released above that value.
func NewSemaphore(value int, bounded bool) *Semaphore {
	value = max(value, 0)
	return &Semaphore{value: value, initial: value, bounded: bounded, held: make(map[Owner]int)}
}

// Acquire takes a permit for owner, waiting as w allows. It returns ok=false when the wait ran
// out, abandoned=true when the permit was returned by the death of a process, ctx.Err() when ctx
// ended the wait, and ErrOwnerDied when owner has died.
func (s *Semaphore) Acquire(ctx context.Context, owner Owner, w Wait) (ok, abandoned bool, err error) {
	if mem := s.mem.Load(); mem != nil {
		return s.acquireShared(ctx, mem, owner, w)
	}
	s.mu.Lock()
	if s.dead(owner) {
		s.mu.Unlock()
		return false, false, ErrOwnerDied
	}
	if s.value > 0 && s.waiters.len() == 0 {
		s.value--
		abandoned = s.take(owner)
		s.mu.Unlock()
		return true, abandoned, nil
	}
	if !w.mayBlock() {
		s.mu.Unlock()
		return false, false, nil
	}
	wt := s.waiters.add(owner)
	s.mu.Unlock()

	d := w.start()
	err = d.await(ctx, wt.wake)
	d.stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case wt.err != nil:
		return false, false, wt.err
	case wt.granted && ctx.Err() != nil:
		// Nobody will use the permit handed to a cancelled call: pass it on, unless owner's
		// death has returned it already.
		if s.drop(owner) {
			s.give(wt.abandoned)
		}
		return false, false, ctx.Err()
	case wt.granted:
		return true, wt.abandoned, nil
	}
	s.waiters.remove(wt)
	if err == errTimedOut {
		return false, false, nil
	}
	return false, false, err
}

// Release adds a permit, handing it to the longest waiter. Any process may release, holding a
// permit or not (a semaphore can signal). A bounded semaphore returns ErrTooManyReleases
// instead of rising above its initial value.
func (s *Semaphore) Release(owner Owner) error {
	if mem := s.mem.Load(); mem != nil {
		return s.releaseShared(mem, owner)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead(owner) {
		return ErrOwnerDied
	}
	if s.bounded && s.waiters.len() == 0 && s.value >= s.initial {
		return ErrTooManyReleases
	}
	s.drop(owner)
	s.give(false)
	return nil
}

// Value is the number of free permits.
func (s *Semaphore) Value() int {
	if mem := s.mem.Load(); mem != nil {
		return mem.Value()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// take records a permit taken by owner and reports whether it was an abandoned one.
func (s *Semaphore) take(owner Owner) (abandoned bool) {
	s.held[owner]++
	s.heldTotal++
	if s.abandoned > 0 {
		s.abandoned--
		return true
	}
	return false
}

// drop forgets one permit held by owner and reports whether it held any.
func (s *Semaphore) drop(owner Owner) bool {
	n := s.held[owner]
	if n == 0 {
		return false
	}
	s.heldTotal--
	if n == 1 {
		delete(s.held, owner)
	} else {
		s.held[owner] = n - 1
	}
	return true
}

// give hands a free permit to the longest waiter, or adds it to the value.
func (s *Semaphore) give(abandoned bool) {
	if w := s.waiters.first(); w != nil {
		s.held[w.owner]++
		s.heldTotal++
		w.granted, w.abandoned = true, abandoned
		s.waiters.wake(w)
		return
	}
	s.value++
	if abandoned {
		s.abandoned++
	}
}

// died returns owner's permits, flagged abandoned, and fails owner's waits. It returns no more
// than brings the free and held permits back up to the initial value: permits that were taken
// as signals (released by another process) are not handed out a second time.
func (s *Semaphore) died(owner Owner) {
	if mem := s.mem.Load(); mem != nil {
		s.diedInSeat(owner, mem)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters.failOwner(owner, ErrOwnerDied)
	n := s.held[owner]
	delete(s.held, owner)
	s.heldTotal -= n
	n = min(n, max(s.initial-s.value-s.heldTotal, 0))
	for range n {
		s.give(true)
	}
}

// waiting is the number of calls waiting for a permit.
func (s *Semaphore) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiters.len()
}
