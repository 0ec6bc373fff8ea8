package objects

import (
	"context"

	"github.com/mphost/mphost/internal/slots"
)

// A Semaphore given a record in the memory shared with child processes (Share) keeps its
// permits there, as a Lock does (see lock_shared.go): each process takes and gives them with
// atomic operations and sleeps on them in the kernel, and lists in its seat the permits it
// holds, which Registry.Died gives back. Its waiters are not served in order then.

// Share moves the semaphore's permits to mem, the record of its id in the shared memory,
// before any other process knows of the semaphore; nil leaves them in the host.
func (s *Semaphore) Share(mem *slots.Semaphore) {
	if mem == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mem.Init(s.initial, s.bounded)
	s.mem.Store(mem)
}

// acquireShared is Acquire on the shared record.
func (s *Semaphore) acquireShared(ctx context.Context, mem *slots.Semaphore, owner Owner, w Wait) (ok, abandoned bool, err error) {
	return s.takeInSeat(owner, mem, func(seat slots.Seat) (bool, bool, error) {
		return mem.Acquire(ctx, seat, w.Duration())
	})
}

// releaseShared is Release on the shared record.
func (s *Semaphore) releaseShared(mem *slots.Semaphore, owner Owner) error {
	if s.dead(owner) {
		return ErrOwnerDied
	}
	seat, err := s.seat(owner)
	if err != nil {
		return err
	}
	return fromSlots(mem.Release(seat))
}
