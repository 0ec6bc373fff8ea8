package objects

import (
	"context"
	"errors"

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
	if s.dead(owner) {
		return false, false, ErrOwnerDied
	}
	seat, err := s.seat(owner)
	if err != nil {
		return false, false, err
	}
	ok, abandoned, err = mem.Acquire(ctx, seat, w.Duration())
	if ok && s.dead(owner) {
		// Taken for an owner that died meanwhile, after Died looked: give it back.
		mem.Died(seat)
		return false, false, ErrOwnerDied
	}
	return ok, abandoned, err
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
	if err := mem.Release(seat); errors.Is(err, slots.ErrTooManyReleases) {
		return ErrTooManyReleases
	} else if err != nil {
		return err
	}
	return nil
}

// diedShared is died on the shared record: owner, which no longer holds the semaphore, gives
// back the permits its seat lists of it, marked abandoned.
func (s *Semaphore) diedShared(mem *slots.Semaphore, owner Owner) {
	if r := s.r.Load(); r != nil {
		if seat := r.seatOf(owner); seat != 0 {
			mem.Died(seat)
		}
	}
}
