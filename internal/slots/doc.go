// Package slots is the memory that every process of a run maps, and what
// lives there: the numbers of shared Values, as Python keeps a
// multiprocessing.Value in shared memory, so that a child reads, sets and
// adds to a number without a call to the host; and the state of locks and
// semaphores (Mutex, RMutex, Semaphore), so that a process takes and gives
// them with atomic operations, and sleeps on them in the kernel (package
// futex), without a call to the host.
//
// The memory is a memfd that the host makes when it starts and hands to
// each child as a file descriptor. It has three parts, each indexed by
// something the host hands out, and only their touched pages take memory:
//
//   - One slot of 8 bytes per object index (the low 32 bits of an object's
//     id; the host hands an index out again once its object is freed, and
//     clears its slot first); only the slots of Values, pipe ends and their
//     tallies are used. A slot holds the float64 bits of the Value's number,
//     or Other when the Value holds something else (a string, a table),
//     which then stays in the host.
//   - One record of 32 bytes per object index, for the objects that are
//     locks or semaphores; the host clears it (Init) when it makes one.
//   - One seat of 512 bytes per live process: the host gives each process
//     a Seat, and the process lists there what the host must give back
//     when it dies.
//
// Every access is atomic.
//
// # Locks and semaphores
//
// A record's first word is a futex word: a Mutex's holder (the Seat of the
// process that holds it), a Semaphore's free permits. Taking and giving
// one that no other process contends for is an atomic operation and
// nothing more; a process that must wait counts itself in the record's
// waiters and sleeps in the kernel until the word changes, its wait
// bounded by its timeout and ended by its context; one that gives the lock
// or a permit back wakes one sleeper when the count says there is one.
//
// Fairness: none is promised. A process that finds the lock free takes it,
// even when others have slept on it longer (a woken sleeper that finds it
// taken sleeps again), and the kernel wakes sleepers in no promised order.
// Serving waiters in order, as the host's own locks do, would hand the
// lock on every contended release from a running process to a sleeping
// one: each hand-off would cost a wake and a switch to the sleeper, where
// letting the running process take the lock again costs an atomic
// operation. A waiter can be passed over for as long as
// others keep taking the lock; its timeout still ends its wait.
//
// When a process dies, the host gives back what it held: the locks whose
// word holds its seat (Mutex.Died), then the permits its seat lists and
// its place among the sleepers (Slots.Vacate), before it gives the seat or
// the objects' indexes out again. A lock or permit given back so is
// marked, and the next process to take it is told it was abandoned, as
// robust futexes do.
package slots
