package objects

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/mphost/mphost/internal/slots"
)

// Locker is what a Condition waits with: a *Lock or an *RLock.
type Locker interface {
	// Acquire takes the lock for owner; see Lock.Acquire.
	Acquire(ctx context.Context, owner Owner, w Wait) (ok, abandoned bool, err error)
	// Release gives the lock up; see Lock.Release.
	Release(owner Owner) error
	// Locked reports whether any process holds the lock.
	Locked() bool
	// Share moves the lock's state to memory shared with child processes.
	Share(mem *slots.RMutex)

	state() *mutex
}

// Lock is a mutual-exclusion lock held by one process at a time (Python's multiprocessing.Lock).
// It is not reentrant: a holder that acquires it again waits like anyone else. Waiters get the
// lock in the order they asked for it. Make one with NewLock.
type Lock struct{ mutex }

// NewLock returns an unlocked Lock.
func NewLock() *Lock { return &Lock{} }

// Acquire takes the lock for owner, waiting as w allows. It returns ok=false when the wait ran
// out, abandoned=true when the lock was last released by the death of its holder (told to one
// acquirer only), ctx.Err() when ctx ended the wait, and ErrOwnerDied when owner has died.
func (l *Lock) Acquire(ctx context.Context, owner Owner, w Wait) (ok, abandoned bool, err error) {
	return l.acquire(ctx, owner, w, 1)
}

// Release gives the lock up, handing it to the longest waiter. It returns ErrNotHeld when owner
// does not hold it.
func (l *Lock) Release(owner Owner) error { return l.release(owner) }

// Locked reports whether any process holds the lock.
func (l *Lock) Locked() bool { return l.locked() }

// RLock is a reentrant lock (Python's multiprocessing.RLock): the process that holds it may
// acquire it again, and must release it as many times. Make one with NewRLock.
type RLock struct{ mutex }

// NewRLock returns an unlocked RLock.
func NewRLock() *RLock { return &RLock{mutex{reentrant: true}} }

// Acquire takes the lock for owner, or one level deeper when owner already holds it. Results
// are those of Lock.Acquire.
func (r *RLock) Acquire(ctx context.Context, owner Owner, w Wait) (ok, abandoned bool, err error) {
	return r.acquire(ctx, owner, w, 1)
}

// Release gives up one level; the last one hands the lock to the longest waiter. It returns
// ErrNotHeld when owner does not hold it.
func (r *RLock) Release(owner Owner) error { return r.release(owner) }

// Locked reports whether any process holds the lock.
func (r *RLock) Locked() bool { return r.locked() }

// mutex is the state shared by Lock and RLock: who holds it, how deep, and who waits. The lock
// is handed over directly to the longest waiter on release, so waiters are served in order and
// a release never wakes more than one of them. A lock given a record in shared memory (Share)
// keeps its state there instead (see lock_shared.go), and the fields below go unused.
type mutex struct {
	life
	mem       atomic.Pointer[slots.RMutex]
	mu        sync.Mutex
	reentrant bool
	holder    Owner
	depth     int      // recursion depth of holder; 0 when free
	abandoned bool     // free, and last released by a dead holder: tell the next acquirer
	waiters   waitList // calls waiting for the lock, oldest first
}

// acquire takes the lock for owner at the given recursion depth (1, or the depth a Condition
// gave up while waiting).
func (m *mutex) acquire(ctx context.Context, owner Owner, w Wait, levels int) (ok, abandoned bool, err error) {
	if mem := m.mem.Load(); mem != nil {
		return m.acquireShared(ctx, mem, owner, w, levels)
	}
	m.mu.Lock()
	if m.dead(owner) {
		m.mu.Unlock()
		return false, false, ErrOwnerDied
	}
	if m.depth > 0 && m.holder == owner && m.reentrant {
		m.depth += levels
		m.mu.Unlock()
		return true, false, nil
	}
	if m.depth == 0 && m.waiters.len() == 0 {
		m.holder, m.depth = owner, levels
		abandoned, m.abandoned = m.abandoned, false
		m.mu.Unlock()
		return true, abandoned, nil
	}
	if !w.mayBlock() {
		m.mu.Unlock()
		return false, false, nil
	}
	wt := m.waiters.add(owner)
	wt.levels = levels
	m.mu.Unlock()

	d := w.start()
	err = d.await(ctx, wt.wake)
	d.stop()

	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case wt.err != nil:
		return false, false, wt.err
	case wt.granted && ctx.Err() != nil:
		// Nobody will use the lock handed to a cancelled call: pass it on.
		if m.holder == owner && m.depth > 0 {
			m.handOff(wt.abandoned)
		}
		return false, false, ctx.Err()
	case wt.granted:
		return true, wt.abandoned, nil
	}
	m.waiters.remove(wt)
	if err == errTimedOut {
		return false, false, nil
	}
	return false, false, err
}

// release gives up one level of owner's hold.
func (m *mutex) release(owner Owner) error {
	if mem := m.mem.Load(); mem != nil {
		return m.releaseShared(mem, owner)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.depth == 0 || m.holder != owner {
		return ErrNotHeld
	}
	m.depth--
	if m.depth == 0 {
		m.handOff(false)
	}
	return nil
}

// releaseAll gives up every level of owner's hold and returns how many there were.
func (m *mutex) releaseAll(owner Owner) (levels int, err error) {
	if mem := m.mem.Load(); mem != nil {
		return m.releaseAllShared(mem, owner)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.depth == 0 || m.holder != owner {
		return 0, ErrNotHeld
	}
	levels, m.depth = m.depth, 0
	m.handOff(false)
	return levels, nil
}

// handOff passes the lock its holder has let go of to the longest waiter, or leaves it free;
// abandoned says whether that holder died. The caller holds m.mu.
func (m *mutex) handOff(abandoned bool) {
	if w := m.waiters.first(); w != nil {
		m.holder, m.depth = w.owner, w.levels
		w.granted, w.abandoned = true, abandoned
		m.waiters.wake(w)
		return
	}
	m.holder, m.depth, m.abandoned = 0, 0, abandoned
}

// died releases owner's hold, flagged abandoned, and fails owner's waits.
func (m *mutex) died(owner Owner) {
	if mem := m.mem.Load(); mem != nil {
		m.diedInSeat(owner, mem)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waiters.failOwner(owner, ErrOwnerDied)
	if m.depth > 0 && m.holder == owner {
		m.handOff(true)
	}
}

// locked reports whether anyone holds the lock.
func (m *mutex) locked() bool {
	if mem := m.mem.Load(); mem != nil {
		return mem.Locked()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.depth > 0
}

// depthOf is owner's recursion depth: 0 when owner does not hold the lock.
func (m *mutex) depthOf(owner Owner) int {
	if mem := m.mem.Load(); mem != nil {
		return m.depthShared(mem, owner)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder != owner {
		return 0
	}
	return m.depth
}

// state is the mutex of a Lock or RLock, for Condition.
func (m *mutex) state() *mutex { return m }

// waiting is the number of calls waiting for the lock.
func (m *mutex) waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiters.len()
}
