package objects

import "errors"

// Errors returned by the shared objects. Callers compare with errors.Is and translate them into
// messages for the script author; the text here is for Go logs and tests.
var (
	// ErrNotHeld: a process released or waited on a lock it does not hold.
	ErrNotHeld = errors.New("lock not held by this process")
	// ErrTooManyReleases: a bounded semaphore was released above its initial value.
	ErrTooManyReleases = errors.New("semaphore released too many times")
	// ErrBroken: a barrier was broken, aborted or reset while waiting, or the wait timed out.
	ErrBroken = errors.New("barrier is broken")
	// ErrClosed: the queue or pipe end was closed (after draining, for Get and Recv).
	ErrClosed = errors.New("closed")
	// ErrFull: a put found the queue full and could not wait, or its wait timed out.
	ErrFull = errors.New("queue is full")
	// ErrEmpty: a get or recv found nothing and could not wait, or its wait timed out.
	ErrEmpty = errors.New("nothing to receive")
	// ErrTooManyTaskDone: task_done was called more times than items were put.
	ErrTooManyTaskDone = errors.New("task_done called too many times")
	// ErrWrongDirection: a send on the receive-only end of a one-way pipe, or the reverse.
	ErrWrongDirection = errors.New("wrong direction for this end of a one-way pipe")
	// ErrNotNumber: arithmetic on a Value that does not hold a number.
	ErrNotNumber = errors.New("value is not a number")
	// ErrNoObject: the registry holds no object with that id (or not of the wanted type).
	ErrNoObject = errors.New("no such shared object")
	// ErrOwnerDied: the call was made for a process that has died.
	ErrOwnerDied = errors.New("process has died")
	// ErrBadPoolConfig: NewPool was given fewer than 1 process or a negative limit.
	ErrBadPoolConfig = errors.New("invalid pool configuration")
	// ErrPoolRunning: Join before Close or Terminate, or Start on a pool already started.
	ErrPoolRunning = errors.New("pool is still running")
	// ErrNoTask: the pool has no such task, batch or function (never made, or forgotten), or
	// a worker reported a task it was not running.
	ErrNoTask = errors.New("no such pool task")
	// ErrBatchDone: NextDone has already returned every task submitted to the batch.
	ErrBatchDone = errors.New("every task of the batch has been returned")
	// ErrRetire: a pool worker has run its maximum number of tasks and must exit.
	ErrRetire = errors.New("pool worker must retire")
	// ErrNotWorker: a call for a worker was made by a process the pool did not start.
	ErrNotWorker = errors.New("not a worker of this pool")
	// ErrTaskInFlight: a pool worker asked for a task while still running one.
	ErrTaskInFlight = errors.New("pool worker already has a task in flight")
)

// errTimedOut is what a deadline reports when the Wait ran out; each object turns it into its
// own result (false, ErrFull, ErrEmpty, ErrBroken).
var errTimedOut = errors.New("timed out")
