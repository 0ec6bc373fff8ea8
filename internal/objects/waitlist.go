package objects

// waiter is one blocked call, parked on its own channel. Every field but wake is guarded by the
// mutex of the object the waiter waits on; whoever wakes it sets the result fields first, then
// closes wake, exactly once, and removes it from its list.
type waiter struct {
	owner      Owner
	wake       chan struct{}
	prev, next *waiter
	listed     bool

	granted   bool  // the lock, permit or notification was handed to this waiter
	abandoned bool  // with granted: the lock or permit was left by a dead process
	levels    int   // for a lock: the recursion depth handed over
	err       error // set when the waiter is woken to fail, e.g. ErrOwnerDied
}

// waitList is a FIFO of waiters with O(1) removal from anywhere. The zero waitList is empty.
// It is guarded by the mutex of the object that holds it.
type waitList struct {
	head, tail *waiter
	n          int
}

// add parks a new waiter for owner at the back of the list.
func (l *waitList) add(owner Owner) *waiter {
	w := &waiter{owner: owner, wake: make(chan struct{}), listed: true, prev: l.tail}
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
	return w
}

// remove takes w out of the list; it does nothing if w is no longer listed.
func (l *waitList) remove(w *waiter) {
	if !w.listed {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.listed = nil, nil, false
	l.n--
}

// len is the number of parked waiters.
func (l *waitList) len() int { return l.n }

// first is the longest-waiting waiter, or nil.
func (l *waitList) first() *waiter { return l.head }

// wake removes w from the list and wakes it; set its result fields before calling.
func (l *waitList) wake(w *waiter) {
	l.remove(w)
	close(w.wake)
}

// wakeFirst wakes the longest-waiting waiter, if any, and reports whether there was one.
func (l *waitList) wakeFirst() bool {
	w := l.head
	if w == nil {
		return false
	}
	l.wake(w)
	return true
}

// wakeAll wakes every waiter.
func (l *waitList) wakeAll() {
	for l.head != nil {
		l.wake(l.head)
	}
}

// failOwner wakes every waiter of owner with err.
func (l *waitList) failOwner(owner Owner, err error) {
	for w := l.head; w != nil; {
		next := w.next
		if w.owner == owner {
			w.err = err
			l.wake(w)
		}
		w = next
	}
}
