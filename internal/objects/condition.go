package objects

import (
	"context"
	"sync"
)

// Condition is a condition variable over a Lock or RLock (Python's multiprocessing.Condition):
// a process that holds the lock waits to be notified by another that holds it. Waiters are
// notified in the order they started waiting. wait_for(pred) is a loop around Wait in the
// caller. Make one with NewCondition.
type Condition struct {
	life
	lock    Locker
	mu      sync.Mutex // guards waiters; taken before the lock's own mutex, never after
	waiters waitList
}

// NewCondition returns a Condition over lock, or over a new RLock when lock is nil (as Python
// does).
func NewCondition(lock Locker) *Condition {
	if lock == nil {
		lock = NewRLock()
	}
	return &Condition{lock: lock}
}

// Locker is the condition's lock, for acquire, release and with.
func (c *Condition) Locker() Locker { return c.lock }

// Wait releases the lock owner holds (every level of an RLock), waits as w allows for a
// notification, then re-acquires the lock at the same depth, waiting as long as that takes, and
// reports whether it was notified: false when the wait ran out. It returns ErrNotHeld when owner
// does not hold the lock. When ctx ends the wait, or owner dies, it returns ctx.Err() or
// ErrOwnerDied without the lock. Re-acquiring an abandoned lock does not report it.
func (c *Condition) Wait(ctx context.Context, owner Owner, w Wait) (notified bool, err error) {
	m := c.lock.state()
	c.mu.Lock()
	if c.dead(owner) {
		c.mu.Unlock()
		return false, ErrOwnerDied
	}
	if m.depthOf(owner) == 0 {
		c.mu.Unlock()
		return false, ErrNotHeld
	}
	// Park before releasing the lock, so that a notify made as soon as it is free finds us.
	wt := c.waiters.add(owner)
	c.mu.Unlock()
	levels, err := m.releaseAll(owner)
	if err != nil { // owner died in between and lost the lock
		c.mu.Lock()
		c.waiters.remove(wt)
		c.mu.Unlock()
		return false, ErrOwnerDied
	}

	if w.mayBlock() {
		d := w.start()
		_ = d.await(ctx, wt.wake) // the outcome is read from wt and ctx below
		d.stop()
	}

	c.mu.Lock()
	c.waiters.remove(wt)
	notified, died := wt.granted, wt.err
	if notified && ctx.Err() != nil {
		// Nobody will act on a notification handed to a cancelled call: pass it on.
		c.notify(1)
		notified = false
	}
	c.mu.Unlock()
	if died != nil {
		return false, died
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if _, _, err := m.acquire(ctx, owner, WaitForever, levels); err != nil {
		return false, err
	}
	return notified, nil
}

// Notify wakes up to n waiters, longest waiting first. It returns ErrNotHeld when owner does
// not hold the lock.
func (c *Condition) Notify(owner Owner, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock.state().depthOf(owner) == 0 {
		return ErrNotHeld
	}
	c.notify(n)
	return nil
}

// NotifyAll wakes every waiter. It returns ErrNotHeld when owner does not hold the lock.
func (c *Condition) NotifyAll(owner Owner) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock.state().depthOf(owner) == 0 {
		return ErrNotHeld
	}
	c.notify(c.waiters.len())
	return nil
}

// notify wakes up to n waiters; the caller holds c.mu.
func (c *Condition) notify(n int) {
	for ; n > 0; n-- {
		w := c.waiters.first()
		if w == nil {
			return
		}
		w.granted = true
		c.waiters.wake(w)
	}
}

// attach also attaches the lock, which the Registry may not hold itself.
func (c *Condition) attach(r *Registry) {
	c.life.attach(r)
	c.lock.state().attach(r)
}

// died fails owner's waits and releases the lock if owner held it.
func (c *Condition) died(owner Owner) {
	c.mu.Lock()
	c.waiters.failOwner(owner, ErrOwnerDied)
	c.mu.Unlock()
	c.lock.state().died(owner)
}

// waiting is the number of calls waiting for a notification.
func (c *Condition) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiters.len()
}
