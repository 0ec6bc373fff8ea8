package slots

import (
	"context"
	"time"
)

// Semaphore is a counter of permits (a Semaphore or BoundedSemaphore) in
// the memory. Its record's word holds the free permits (the futex word)
// and the permits held, taken and not given back, changed together; each
// process lists in its seat the permits it holds, so that the host gives
// a dead process's permits back (Slots.Vacate). Make one per object with
// Slots.Semaphore.
type Semaphore struct{ lockRef }

// heldOne is one permit held, in a record's word.
const heldOne = 1 << 32

// Semaphore returns the semaphore of object id, or nil when id has no
// record.
func (s *Slots) Semaphore(id uint64) *Semaphore {
	l, ok := s.ref(id)
	if !ok {
		return nil
	}
	return &Semaphore{l}
}

// Init sets the semaphore to value permits (a negative value counts as 0);
// a bounded one refuses to be released above that value. The host calls it
// when it makes the object, before any process can use it.
func (x *Semaphore) Init(value int, bounded bool) {
	x.r.clear()
	value = max(value, 0)
	x.r.initial.Store(uint32(value))
	if bounded {
		x.r.bounded.Store(1)
	}
	x.r.word.Store(uint64(value))
}

// Acquire takes a permit for seat, waiting as long as wait allows. It
// returns ok=false when the wait ran out, abandoned=true when the permit
// was given back by the death of a process, ctx.Err() when ctx ended the
// wait, and ErrTooManySemaphores when the seat holds permits of as many
// other semaphores as it can list.
func (x *Semaphore) Acquire(ctx context.Context, seat Seat, wait time.Duration) (ok, abandoned bool, err error) {
	e := x.mem.seat(seat).entry(x.id, true)
	if e == nil {
		return false, false, ErrTooManySemaphores
	}
	if ok, _ = x.take(); !ok {
		if ok, err = x.park(ctx, seat, wait, x.take); !ok {
			return false, false, err
		}
	}
	// Listed once taken: a process killed in between loses the permit, where
	// one listed first and not taken would be given back as well, above the
	// bound.
	e.count.Add(1)
	return true, x.takeAbandoned(), nil
}

// take takes a free permit, counting it held, if there is one; it returns
// the free permits it saw.
func (x *Semaphore) take() (bool, uint32) {
	for {
		w := x.r.word.Load()
		if uint32(w) == 0 {
			return false, 0
		}
		if x.r.word.CompareAndSwap(w, w-1+heldOne) {
			return true, uint32(w)
		}
	}
}

// takeAbandoned reports whether a permit just taken is one a dead process
// gave back, and counts it told.
func (x *Semaphore) takeAbandoned() bool {
	for a := x.r.abandoned.Load(); a > 0; a = x.r.abandoned.Load() {
		if x.r.abandoned.CompareAndSwap(a, a-1) {
			return true
		}
	}
	return false
}

// Release adds a permit and wakes one sleeper, if any. Any seat may
// release, holding a permit or not (a semaphore can signal). A bounded
// semaphore returns ErrTooManyReleases instead of rising above its initial
// value (as Python's BoundedSemaphore does, sleepers or not).
func (x *Semaphore) Release(seat Seat) error {
	var held uint64
	e := x.mem.seat(seat).entry(x.id, false)
	if e != nil {
		// Unlisted before it is given: a process killed in between loses
		// the permit, as in Acquire.
		e.count.Add(^uint32(0))
		held = heldOne
	}
	bounded, initial := x.r.bounded.Load() != 0, x.r.initial.Load()
	for {
		w := x.r.word.Load()
		if bounded && uint32(w) >= initial {
			if e != nil {
				e.count.Add(1)
			}
			return ErrTooManyReleases
		}
		if x.r.word.CompareAndSwap(w, w+1-held) {
			break
		}
	}
	x.r.wake(1)
	return nil
}

// Value is the number of free permits.
func (x *Semaphore) Value() int { return int(x.r.state().Load()) }

// Died gives back the permits that seat lists of the semaphore, marked
// abandoned, as Vacate does for every semaphore; it reports whether seat
// listed any. The host calls it when the process in seat no longer holds
// the semaphore's handle.
func (x *Semaphore) Died(seat Seat) bool {
	if e := x.mem.seat(seat).entry(x.id, false); e != nil {
		if count := e.count.Swap(0); count > 0 {
			x.giveBack(count)
			return true
		}
	}
	return false
}

// giveBack returns n permits that a dead process held, marked abandoned,
// and wakes as many sleepers. It returns no more than brings the free and
// held permits back up to the initial value: permits taken as signals
// (released by another process) are not handed out a second time.
func (x *Semaphore) giveBack(n uint32) {
	initial := int64(x.r.initial.Load())
	for {
		w := x.r.word.Load()
		free, held := uint32(w), uint32(w>>32)
		n = min(n, held)
		give := uint32(max(min(int64(n), initial-int64(free)-int64(held-n)), 0))
		// Marked before the permits are free, so that their takers are told.
		x.r.abandoned.Add(give)
		if x.r.word.CompareAndSwap(w, uint64(free+give)|uint64(held-n)<<32) {
			if give > 0 {
				x.r.wake(int(give))
			}
			return
		}
		x.r.abandoned.Add(-give)
	}
}
