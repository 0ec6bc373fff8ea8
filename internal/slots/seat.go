package slots

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Seat names a live process in the memory: the host gives one to each
// process it starts, and one to its own script, and takes it back once the
// process has ended and the host has given back what it held. A Mutex's
// word holds its holder's seat; the seat's record in the memory lists the
// semaphore permits its process holds, and the lock or semaphore it sleeps
// on, which the host reads once the process has died (the process's own
// memory is gone by then), as the kernel reads a dead thread's robust list.
// Seat 0 is no process. One goroutine at a time acts for a seat (a
// process's one Lua VM).
type Seat uint32

// Seats is the number of seats: at most Seats-1 processes live at once.
const Seats = 1 << 13

// seat is a seat's record.
type seat struct {
	waiting atomic.Uint32 // the index of the record the process sleeps on, 0 when none
	_       [3]uint32
	permits [seatEntries]permits
}

// permits is what one semaphore's permits a process holds: the
// semaphore's id, and the count. An entry whose count is 0 is free.
type permits struct {
	id    atomic.Uint64
	count atomic.Uint32
	_     uint32
}

// seatEntries is the number of semaphores whose permits a process may
// hold at once; seatSize the bytes of a seat's record.
const (
	seatEntries = 31
	seatSize    = 512
)

var _ [seatSize - unsafe.Sizeof(seat{})]byte
var _ [unsafe.Sizeof(seat{}) - seatSize]byte

// ErrTooManySemaphores is returned by an acquire of a semaphore when the
// process already holds permits of seatEntries others.
var ErrTooManySemaphores = errors.New("holds permits of too many semaphores at once")

// ErrNoSeat is returned by TakeSeat when every seat is taken.
var ErrNoSeat = errors.New("too many processes for the shared memory's seats")

// seat returns the record of seat n.
func (s *Slots) seat(n Seat) *seat {
	return (*seat)(unsafe.Pointer(&s.mem[seatsStart+uintptr(n)*seatSize]))
}

// entry returns the entry of the seat's permits of semaphore id, claiming
// a free one when claim is set; nil when there is none.
func (st *seat) entry(id uint64, claim bool) *permits {
	var free *permits
	for i := range st.permits {
		e := &st.permits[i]
		if e.count.Load() == 0 {
			if free == nil {
				free = e
			}
			continue
		}
		if e.id.Load() == id {
			return e
		}
	}
	if claim && free != nil {
		free.id.Store(id)
		return free
	}
	return nil
}

// seating is the host's book of seats; children do not use it.
type seating struct {
	mu   sync.Mutex
	next Seat   // the lowest seat never given out
	free []Seat // seats given back
}

// TakeSeat gives out a seat for a process, for a host. It returns ErrNoSeat
// when every seat is taken.
func (s *Slots) TakeSeat() (Seat, error) {
	s.seats.mu.Lock()
	defer s.seats.mu.Unlock()
	if n := len(s.seats.free); n > 0 {
		seat := s.seats.free[n-1]
		s.seats.free = s.seats.free[:n-1]
		return seat, nil
	}
	if s.seats.next == 0 {
		s.seats.next = 1
	}
	if s.seats.next >= Seats {
		return 0, ErrNoSeat
	}
	s.seats.next++
	return s.seats.next - 1, nil
}

// Vacate gives back what the process in seat held, for a host, once it has
// ended: the semaphore permits its seat records (Semaphore.giveBack), and
// its place among the sleepers of the lock or semaphore it slept on; then
// it clears the seat and takes it back. The host calls Mutex.Died for its
// locks first, and vacates a seat before it frees the objects the process
// held (their records may be given out again).
func (s *Slots) Vacate(n Seat) {
	st := s.seat(n)
	if i := st.waiting.Load(); i != 0 {
		if l, ok := s.ref(uint64(i)); ok {
			for w := l.r.waiters.Load(); w > 0 && !l.r.waiters.CompareAndSwap(w, w-1); w = l.r.waiters.Load() {
			}
		}
		st.waiting.Store(0)
	}
	for i := range st.permits {
		e := &st.permits[i]
		if count := e.count.Load(); count > 0 {
			if sem := s.Semaphore(e.id.Load()); sem != nil {
				sem.giveBack(count)
			}
		}
		e.count.Store(0)
		e.id.Store(0)
	}
	s.seats.mu.Lock()
	s.seats.free = append(s.seats.free, n)
	s.seats.mu.Unlock()
}
