package objects

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mphost/mphost/internal/slots"
)

// A Lock or RLock given a record in the memory shared with child processes (Share) keeps its
// state there: each process takes and gives it with atomic operations, and sleeps on it in the
// kernel, without asking the host (see package slots). The host acts there too, in the seat of
// the process it serves: for the main script, and for the calls that come to it (a Condition's
// wait gives the lock up and takes it back for its caller). The waiters are not served in
// order then: a process that finds the lock free takes it, as slots' doc says why.

// UseMemory says which shared memory the seats are in (SetSeat): Died gives back there what a
// dead process held (slots.Slots.GiveBack). Call it before SetSeat.
func (r *Registry) UseMemory(mem *slots.Slots) { r.mem.Store(mem) }

// SetSeat says that owner's calls act in seat of the shared memory (the seat of the process it
// runs in); seat 0 forgets owner's seat. The host sets it before owner makes any call, and
// forgets it once Died has given back what owner held.
func (r *Registry) SetSeat(owner Owner, seat slots.Seat) {
	if seat == 0 {
		r.seats.Delete(owner)
		return
	}
	r.seats.Store(owner, ownerSeat{seat: seat})
}

// ownerSeat is an owner's seat, and whether it was lent here (seatFor) rather than given by
// the host.
type ownerSeat struct {
	seat slots.Seat
	lent bool
}

// seatOf is owner's seat, 0 when it has none.
func (r *Registry) seatOf(owner Owner) slots.Seat {
	if s, ok := r.seats.Load(owner); ok {
		return s.(ownerSeat).seat
	}
	return 0
}

// seatFor is the seat owner's calls act in. An owner the host gave no seat (a process that
// runs elsewhere, whose calls the host serves) is lent one here, which Died gives back.
func (r *Registry) seatFor(owner Owner) (slots.Seat, error) {
	if seat := r.seatOf(owner); seat != 0 {
		return seat, nil
	}
	mem := r.mem.Load()
	if mem == nil || r.dead.has(owner) {
		return 0, fmt.Errorf("process %d has no seat in the shared memory", owner)
	}
	seat, err := mem.TakeSeat()
	if err != nil {
		return 0, err
	}
	if s, taken := r.seats.LoadOrStore(owner, ownerSeat{seat: seat, lent: true}); taken {
		mem.Vacate(seat) // another call lent one first
		return s.(ownerSeat).seat, nil
	}
	return seat, nil
}

// seat is the seat owner's calls act in (Registry.seatFor).
func (l *life) seat(owner Owner) (slots.Seat, error) {
	r := l.r.Load()
	if r == nil {
		return 0, fmt.Errorf("process %d has no seat in the shared memory", owner)
	}
	return r.seatFor(owner)
}

// seatRecord is a lock's or a semaphore's record in the shared memory: Died gives back what a
// seat holds of it (slots.Mutex.Died, slots.Semaphore.Died).
type seatRecord interface{ Died(slots.Seat) bool }

// takeInSeat takes a lock or a permit of rec (take) in owner's seat. What was taken for an
// owner that died meanwhile, after Died looked, it gives back as that death would have, and
// returns ErrOwnerDied.
func (l *life) takeInSeat(owner Owner, rec seatRecord, take func(slots.Seat) (ok, abandoned bool, err error)) (ok, abandoned bool, err error) {
	if l.dead(owner) {
		return false, false, ErrOwnerDied
	}
	seat, err := l.seat(owner)
	if err != nil {
		return false, false, err
	}
	ok, abandoned, err = take(seat)
	if ok && l.dead(owner) {
		rec.Died(seat)
		return false, false, ErrOwnerDied
	}
	return ok, abandoned, err
}

// diedInSeat gives back, marked abandoned, what owner's seat holds of rec, once owner has died
// or left the object: the lock if it holds it, the permits it lists. An owner without a seat
// holds nothing there.
func (l *life) diedInSeat(owner Owner, rec seatRecord) {
	if r := l.r.Load(); r != nil {
		if seat := r.seatOf(owner); seat != 0 {
			rec.Died(seat)
		}
	}
}

// fromSlots is an error of package slots as this package says it.
func fromSlots(err error) error {
	switch {
	case errors.Is(err, slots.ErrNotHeld):
		return ErrNotHeld
	case errors.Is(err, slots.ErrTooManyReleases):
		return ErrTooManyReleases
	}
	return err
}

// Share moves the lock's state to mem, the record of its id in the shared memory, before any
// other process knows of the lock; nil leaves it in the host.
func (m *mutex) Share(mem *slots.RMutex) {
	if mem == nil {
		return
	}
	if m.reentrant {
		mem.Init()
	} else {
		mem.Mutex.Init()
	}
	m.mem.Store(mem)
}

// Duration is the wait w allows, as package slots counts it: 0 not at all, slots.Forever
// without limit.
func (w Wait) Duration() time.Duration {
	switch {
	case !w.mayBlock():
		return 0
	case w.Forever:
		return slots.Forever
	}
	return w.Timeout
}

// acquireShared is acquire on the shared record.
func (m *mutex) acquireShared(ctx context.Context, mem *slots.RMutex, owner Owner, w Wait, levels int) (ok, abandoned bool, err error) {
	return m.takeInSeat(owner, mem, func(seat slots.Seat) (bool, bool, error) {
		return mem.AcquireLevels(ctx, seat, w.Duration(), levels)
	})
}

// releaseShared is release on the shared record.
func (m *mutex) releaseShared(mem *slots.RMutex, owner Owner) error {
	seat, err := m.seat(owner)
	if err != nil {
		return ErrNotHeld
	}
	return fromSlots(mem.Release(seat))
}

// releaseAllShared is releaseAll on the shared record.
func (m *mutex) releaseAllShared(mem *slots.RMutex, owner Owner) (int, error) {
	seat, err := m.seat(owner)
	if err != nil {
		return 0, ErrNotHeld
	}
	levels, err := mem.ReleaseAll(seat)
	return levels, fromSlots(err)
}

// depthShared is depthOf on the shared record.
func (m *mutex) depthShared(mem *slots.RMutex, owner Owner) int {
	seat, err := m.seat(owner)
	if err != nil {
		return 0
	}
	return mem.Depth(seat)
}
