package slots

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mphost/mphost/internal/futex"
)

// Forever is the wait of a call that may wait without limit.
const Forever = futex.Forever

// The errors of locks and semaphores.
var (
	// ErrNotHeld is returned by a release of a lock the seat does not hold.
	ErrNotHeld = errors.New("lock not held")
	// ErrTooManyReleases is returned by a release that would raise a
	// bounded semaphore above its initial value.
	ErrTooManyReleases = errors.New("semaphore released too many times")
)

// record is the state of one lock or semaphore.
type record struct {
	// word's low half is the futex word (state): a Mutex's holder, a
	// Semaphore's free permits; its high half a Semaphore's permits held,
	// taken and not given back, so that a take or a give changes both in
	// one atomic operation.
	word      atomic.Uint64
	waiters   atomic.Uint32 // calls sleeping on state, or about to
	depth     atomic.Uint32 // an RMutex's levels, written by its holder only
	initial   atomic.Uint32 // a Semaphore's initial value
	bounded   atomic.Uint32 // 1 for a bounded Semaphore
	abandoned atomic.Uint32 // a Semaphore's free permits given back by dead processes
	reentrant atomic.Uint32 // 1 for a lock its holder may take again (RMutex.Init)
}

// state is the futex word, the low half of word (the memory is little
// endian on every platform mphost runs on: amd64, arm64).
func (r *record) state() *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Pointer(&r.word)) }

// wake wakes up to n sleepers on the record, when it counts any: a give
// that no one waits for makes no system call.
func (r *record) wake(n int) {
	if r.waiters.Load() != 0 {
		futex.Wake(r.state(), n)
	}
}

// recordSize is the bytes of a record in the memory.
const recordSize = 32

// clear sets every word of the record to 0.
func (r *record) clear() {
	r.word.Store(0)
	for _, w := range []*atomic.Uint32{&r.waiters, &r.depth, &r.initial, &r.bounded, &r.abandoned, &r.reentrant} {
		w.Store(0)
	}
}

var _ [recordSize - unsafe.Sizeof(record{})]byte
var _ [unsafe.Sizeof(record{}) - recordSize]byte

// A Mutex's state word: its holder's seat, 0 when free, and abandonedBit
// when it is free because the host took it from a dead holder.
const (
	holderMask   = 1<<30 - 1
	abandonedBit = 1 << 30
)

// lockRef is what Mutex, RMutex and Semaphore share: the memory and the
// object's record.
type lockRef struct {
	mem *Slots
	id  uint64
	r   *record
}

// ref returns the record of object id, or false when id has none.
func (s *Slots) ref(id uint64) (lockRef, bool) {
	index := id & indexMask
	if s == nil || index == 0 || index >= Count {
		return lockRef{}, false
	}
	r := (*record)(unsafe.Pointer(&s.mem[locksStart+index*recordSize]))
	return lockRef{mem: s, id: id, r: r}, true
}

// spinTries and spinLoads bound what park does before it sleeps: it takes
// a look at the word spinLoads times between tries.
const (
	spinTries = 20
	spinLoads = 100
)

// park waits, for the process in seat n, until take succeeds, wait runs out or
// ctx ends; take returns whether it took the lock or a permit, and what it
// saw in the state word when it did not. It tries once first: a call that
// need not wait succeeds even when ctx is done. It returns ok=false and no
// error when wait ran out, ctx.Err() when ctx ended the wait.
func (l lockRef) park(ctx context.Context, n Seat, wait time.Duration, take func() (bool, uint32)) (ok bool, err error) {
	ok, seen := take()
	if ok || wait == 0 {
		return ok, nil
	}
	// A holder usually gives the lock back within a microsecond or two (an
	// increment under it): look again for a while before sleeping, which
	// would cost the releaser a system call to wake this call, and both a
	// switch. The look is bounded, for a holder that keeps the lock.
	for range spinTries {
		for i := 0; i < spinLoads && l.r.state().Load() == seen; i++ {
		}
		if ok, seen = take(); ok {
			return true, nil
		}
	}
	var deadline time.Time
	if wait > 0 {
		deadline = time.Now().Add(wait)
	}
	// Counted before the next look at the word: a release made after that
	// look sees the count and wakes a sleeper.
	l.r.waiters.Add(1)
	// A child lists the record it sleeps on, for the host to take its count
	// back if it dies asleep; the host's own waits take it back themselves.
	var st *seat
	if !l.mem.host {
		st = l.mem.seat(n)
		st.waiting.Store(uint32(l.id & indexMask))
	}
	var left atomic.Bool
	stop := context.AfterFunc(ctx, func() { l.interrupt(&left) })
	for {
		if ok, seen = take(); ok {
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		sleep := Forever
		if wait > 0 {
			if sleep = time.Until(deadline); sleep <= 0 {
				break
			}
		}
		futex.Wait(l.r.state(), seen, sleep)
	}
	left.Store(true)
	stop()
	if st != nil {
		st.waiting.Store(0)
	}
	if l.r.waiters.Add(^uint32(0)) > 0 && !ok {
		// The wake of a release may have come to this call, which leaves
		// without the lock: pass it on.
		futex.Wake(l.r.state(), 1)
	}
	return ok, err
}

// interrupt wakes the sleepers on the record, in every process, until the
// call whose context ended has left (left is set): each one looks at its
// context and the word and sleeps again if neither lets it go. It wakes
// more than once because the call may be between its look at its context
// and its sleep, which a wake does not reach.
func (l lockRef) interrupt(left *atomic.Bool) {
	for pause := 50 * time.Microsecond; !left.Load(); pause = min(2*pause, 10*time.Millisecond) {
		futex.Wake(l.r.state(), math.MaxInt32)
		time.Sleep(pause)
	}
}

// Mutex is a lock that one process holds at a time (a Lock), in the
// memory: the views of the same object in every process share it. Make
// one per object with Slots.Mutex; its methods may be called from any
// goroutine, with the seat of the process they act for.
type Mutex struct{ lockRef }

// Mutex returns the lock of object id, or nil when id has no record. The
// host clears the record (Init) before it hands the object out.
func (s *Slots) Mutex(id uint64) *Mutex {
	l, ok := s.ref(id)
	if !ok {
		return nil
	}
	return &Mutex{l}
}

// Init clears the lock: free, and not abandoned. The host calls it when it
// makes the object, before any process can use it.
func (m *Mutex) Init() { m.r.clear() }

// Acquire takes the lock for seat, waiting as long as wait allows (0: not
// at all, Forever: without limit). It returns ok=false when the wait ran
// out, abandoned=true when the host took the lock from a dead holder since
// it was last held (told to one acquirer only), and ctx.Err() when ctx
// ended the wait. The lock is not reentrant: a seat that holds it and
// acquires it again waits like anyone else.
func (m *Mutex) Acquire(ctx context.Context, seat Seat, wait time.Duration) (ok, abandoned bool, err error) {
	if m.r.state().CompareAndSwap(0, uint32(seat)) {
		return true, false, nil
	}
	return m.acquireSlow(ctx, seat, wait)
}

func (m *Mutex) acquireSlow(ctx context.Context, seat Seat, wait time.Duration) (ok, abandoned bool, err error) {
	ok, err = m.park(ctx, seat, wait, func() (bool, uint32) {
		for {
			s := m.r.state().Load()
			if s&holderMask != 0 {
				return false, s
			}
			if m.r.state().CompareAndSwap(s, uint32(seat)) {
				abandoned = s&abandonedBit != 0
				return true, s
			}
		}
	})
	return ok, abandoned, err
}

// Release gives the lock up and wakes one sleeper, if any. It returns
// ErrNotHeld when seat does not hold it.
func (m *Mutex) Release(seat Seat) error {
	if !m.r.state().CompareAndSwap(uint32(seat), 0) {
		return ErrNotHeld
	}
	m.r.wake(1)
	return nil
}

// Holder is the seat that holds the lock, 0 when it is free.
func (m *Mutex) Holder() Seat { return Seat(m.r.state().Load() & holderMask) }

// Locked reports whether any seat holds the lock.
func (m *Mutex) Locked() bool { return m.Holder() != 0 }

// Died frees the lock if seat holds it, marked abandoned, and wakes one
// sleeper; it reports whether seat held it. The host calls it for every
// lock once seat's process has died, before it gives the seat out again.
func (m *Mutex) Died(seat Seat) bool {
	if !m.r.state().CompareAndSwap(uint32(seat), abandonedBit) {
		return false
	}
	m.r.wake(1)
	return true
}

// RMutex is a reentrant lock (an RLock) in the memory: the seat that holds
// it may acquire it again, and must release it as many times. Its holder
// keeps the count of levels in the record, which only it writes. Make one
// per object with Slots.RMutex. The record says whether the lock is
// reentrant (RMutex.Init) or not (Mutex.Init): the methods of an RMutex
// on a record made by Mutex.Init act as a Lock's, with one level, so that
// a process that knows only a lock's id takes it as its maker meant.
type RMutex struct{ Mutex }

// Init clears the lock, as Mutex.Init does, and makes it reentrant.
func (r *RMutex) Init() {
	r.r.clear()
	r.r.reentrant.Store(1)
}

// Reentrant reports whether the lock was made reentrant (RMutex.Init).
func (m *Mutex) Reentrant() bool { return m.r.reentrant.Load() != 0 }

// RMutex returns the reentrant lock of object id, or nil when id has no
// record.
func (s *Slots) RMutex(id uint64) *RMutex {
	l, ok := s.ref(id)
	if !ok {
		return nil
	}
	return &RMutex{Mutex{l}}
}

// Acquire takes the lock for seat, or one level deeper when seat holds it.
// Results are those of Mutex.Acquire.
func (r *RMutex) Acquire(ctx context.Context, seat Seat, wait time.Duration) (ok, abandoned bool, err error) {
	return r.AcquireLevels(ctx, seat, wait, 1)
}

// AcquireLevels takes the lock for seat at the given depth, or that many
// levels deeper when seat holds it: a Condition takes back the levels its
// wait gave up (ReleaseAll).
func (r *RMutex) AcquireLevels(ctx context.Context, seat Seat, wait time.Duration, levels int) (ok, abandoned bool, err error) {
	if r.Holder() == seat && r.Reentrant() {
		r.r.depth.Add(uint32(levels))
		return true, false, nil
	}
	if ok, abandoned, err = r.Mutex.Acquire(ctx, seat, wait); ok {
		r.r.depth.Store(uint32(levels))
	}
	return ok, abandoned, err
}

// Release gives up one level; the last one frees the lock and wakes one
// sleeper. It returns ErrNotHeld when seat does not hold the lock.
func (r *RMutex) Release(seat Seat) error {
	if r.Holder() != seat {
		return ErrNotHeld
	}
	if r.r.depth.Add(^uint32(0)) == 0 {
		return r.Mutex.Release(seat)
	}
	return nil
}

// ReleaseAll gives up every level of seat's hold and returns how many there
// were, for a Condition's wait.
func (r *RMutex) ReleaseAll(seat Seat) (levels int, err error) {
	if r.Holder() != seat {
		return 0, ErrNotHeld
	}
	levels = int(r.r.depth.Swap(0))
	return levels, r.Mutex.Release(seat)
}

// Depth is seat's number of levels: 0 when it does not hold the lock.
func (r *RMutex) Depth(seat Seat) int {
	if r.Holder() != seat {
		return 0
	}
	return int(r.r.depth.Load())
}
