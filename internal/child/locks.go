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

// lockInMemory does an acquire, release or locked of a Lock or RLock (a
// Condition's, a Value's) in the memory shared with the host, without a
// call: an uncontended one is an atomic operation, a contended acquire
// sleeps in the kernel (package slots). done is false when the host must
// do it: the child has no seat, the lock of a Condition or Value is not
// known yet (the host names it in its first reply), or a release finds the
// lock not held (the host says so as a script sees it).
func (r *Remote) lockInMemory(ctx context.Context, call vm.ObjectCall) (reply vm.ObjectReply, done bool, err error) {
	if r.seat == 0 {
		return reply, false, nil
	}
	switch call.Op {
	case ops.SemaphoreAcquire, ops.SemaphoreRelease, ops.SemaphoreGetValue:
		return r.semaphoreInMemory(ctx, call)
	}
	d := call.Op.Decl()
	if d.Hold == 0 && call.Op != ops.LockLocked {
		return reply, false, nil
	}
	lock := call.ID
	if call.Op.Decl().Kind != "Lock" {
		r.puts.mu.Lock()
		lock = r.puts.lockOf[call.ID]
		r.puts.mu.Unlock()
	}
	m := r.values.RMutex(lock)
	if m == nil {
		return reply, false, nil
	}
	switch {
	case call.Op == ops.LockLocked:
		return vm.ObjectReply{OK: m.Locked()}, true, nil
	case d.Hold > 0:
		ok, abandoned, err := m.Acquire(ctx, r.seat, objects.Wait(call.Wait).Duration())
		return acquired(ok, abandoned, lock), true, err
	}
	// What this process posted before the release is done before any
	// other process takes the lock.
	if err := r.Sync(); err != nil {
		return reply, true, err
	}
	if m.Release(r.seat) != nil {
		return reply, false, nil
	}
	return vm.ObjectReply{Lock: lock}, true, nil
}

// acquired is the reply of an acquire that took (ok) or did not take a
// lock or a permit; lock is the lock's id, 0 for a semaphore.
func acquired(ok, abandoned bool, lock uint64) vm.ObjectReply {
	reply := vm.ObjectReply{OK: ok, Lock: lock}
	if abandoned {
		reply.Status = "abandoned"
	}
	return reply
}

// semaphoreInMemory does an acquire, release or get_value of a Semaphore
// or BoundedSemaphore in the memory shared with the host, as lockInMemory
// does for a lock. done is false when the host must do it: an acquire
// finds the process holding permits of too many semaphores, or a release
// would raise a bounded semaphore above its value (the host says so as a
// script sees it).
func (r *Remote) semaphoreInMemory(ctx context.Context, call vm.ObjectCall) (reply vm.ObjectReply, done bool, err error) {
	x := r.values.Semaphore(call.ID)
	if x == nil {
		return reply, false, nil
	}
	switch call.Op {
	case ops.SemaphoreGetValue:
		return vm.ObjectReply{Result: int64(x.Value())}, true, nil
	case ops.SemaphoreAcquire:
		ok, abandoned, err := x.Acquire(ctx, r.seat, objects.Wait(call.Wait).Duration())
		if errors.Is(err, slots.ErrTooManySemaphores) {
			return reply, false, nil
		}
		return acquired(ok, abandoned, 0), true, err
	}
	// What this process posted before the release is done before any
	// other process takes the permit.
	if err := r.Sync(); err != nil {
		return reply, true, err
	}
	if x.Release(r.seat) != nil {
		return reply, false, nil
	}
	return reply, true, nil
}
