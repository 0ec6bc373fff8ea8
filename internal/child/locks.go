package child

import (
	"context"
	"errors"
	"os"
	"strconv"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
)

// EnvSeat names the environment variable in which the host gives a child
// its seat in the shared memory (see slots.Seat): the processes it runs take
// and give locks there, in that seat.
const EnvSeat = "MPHOST_SEAT"

// readSeat reads the child's seat once, and takes it out of the environment
// that the programs the script runs get; 0 when it has none.
func readSeat() slots.Seat {
	n, err := strconv.ParseUint(os.Getenv(EnvSeat), 10, 32)
	os.Unsetenv(EnvSeat)
	if err != nil || n >= slots.Seats {
		return 0
	}
	return slots.Seat(n)
}

// lockInMemory does, for Invoke, an acquire, release or locked of a Lock or
// RLock (a Condition's, a Value's), and an acquire, release or get_value of
// a Semaphore or BoundedSemaphore, in the memory shared with the host
// (TakeLock, GiveLock); done is false when the host must do it.
func (r *Remote) lockInMemory(ctx context.Context, call vm.ObjectCall) (reply vm.ObjectReply, done bool, err error) {
	if r.seat == 0 {
		return reply, false, nil
	}
	switch d := call.Op.Decl(); {
	case call.Op == ops.LockLocked:
		if m := r.values.RMutex(call.ID); m != nil {
			return vm.ObjectReply{OK: m.Locked()}, true, nil
		}
	case call.Op == ops.SemaphoreGetValue:
		if x := r.values.Semaphore(call.ID); x != nil {
			return vm.ObjectReply{Result: int64(x.Value())}, true, nil
		}
	case d.Hold > 0 || call.Op == ops.SemaphoreAcquire:
		reply.OK, reply.Status, done, err = r.TakeLock(ctx, call.Op, call.ID, call.Wait)
		return reply, done, err
	case d.Hold < 0 || call.Op == ops.SemaphoreRelease:
		done, err = r.GiveLock(call.Op, call.ID)
		return reply, done, err
	}
	return reply, false, nil
}

// TakeLock implements vm.LockTaker: an acquire of a lock or a semaphore
// permit, in the memory shared with the host, without a call: an
// uncontended one is an atomic operation, a contended one sleeps in the
// kernel (package slots). done is false when the host must do it: the
// child has no seat, the lock of a Condition or Value is not known yet (the
// host names it in its first reply), or the process holds permits of too
// many semaphores (the host says so as a script sees it).
func (r *Remote) TakeLock(ctx context.Context, op ops.Op, id uint64, wait vm.Wait) (ok bool, status string, done bool, err error) {
	if r.seat == 0 {
		return false, "", false, nil
	}
	var abandoned bool
	if op == ops.SemaphoreAcquire {
		x := r.values.Semaphore(id)
		if x == nil {
			return false, "", false, nil
		}
		ok, abandoned, err = x.Acquire(ctx, r.seat, objects.Wait(wait).Duration())
		if errors.Is(err, slots.ErrTooManySemaphores) {
			return false, "", false, nil
		}
	} else {
		m := r.values.RMutex(r.lockOf(op, id))
		if m == nil {
			return false, "", false, nil
		}
		ok, abandoned, err = m.Acquire(ctx, r.seat, objects.Wait(wait).Duration())
	}
	if abandoned {
		status = "abandoned"
	}
	return ok, status, true, err
}

// GiveLock implements vm.LockTaker: a release of a lock or a semaphore
// permit, in the memory shared with the host, after what this process
// posted before it is done, so that the next holder sees it. done is false
// when the host must do it: the child has no seat, the lock of a Condition
// or Value is not known yet, or the release is refused (not held, or over
// a bounded semaphore's value: the host says so as a script sees it).
func (r *Remote) GiveLock(op ops.Op, id uint64) (done bool, err error) {
	if r.seat == 0 {
		return false, nil
	}
	var give func(slots.Seat) error
	if op == ops.SemaphoreRelease {
		if x := r.values.Semaphore(id); x != nil {
			give = x.Release
		}
	} else if m := r.values.RMutex(r.lockOf(op, id)); m != nil {
		give = m.Release
	}
	if give == nil {
		return false, nil
	}
	if err := r.Sync(); err != nil {
		return true, err
	}
	return give(r.seat) == nil, nil
}

// lockOf is the lock that an acquire or release op on object id takes or
// gives: a Lock's or RLock's own, or the one the host named for a Condition
// or a Value; 0 when not known yet.
func (r *Remote) lockOf(op ops.Op, id uint64) uint64 {
	if op == ops.LockAcquire || op == ops.LockRelease {
		return id
	}
	r.puts.mu.Lock()
	defer r.puts.mu.Unlock()
	return r.puts.lockOf[id]
}

var _ vm.LockTaker = (*Remote)(nil)
