package objects

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pool is the host-side engine of a process pool (Python's multiprocessing.Pool): a FIFO of
// tasks, handed one at a time to worker processes that loop on Next and Done, and the results,
// kept until the caller forgets them. The pool knows nothing of processes itself: a
// WorkerSpawner given to Start starts and kills them, and the host reports each one's end with
// WorkerExited. Make one with NewPool, then Start it.
//
// The caller (the process that owns the pool) registers a function with AddFunction, groups
// the tasks of one map or apply call in a batch (NewBatch, which takes over the function), submits
// them, and reads each result with Result, in any order, or with NextDone in the order they
// finish; Forget drops a batch's results, and its functions once no other batch uses them. A
// function is shipped to each worker once, with the first of its tasks, for as long as the pool
// keeps it.
//
// The pool never hangs: a task whose worker exits fails with the reason the host gives, a task
// that runs longer than TaskTimeout fails and its worker is killed, and a worker that leaves is
// replaced. Starts that keep failing (SpawnWorker errors, or workers that exit before they ask
// for a task) are retried with a growing delay; after maxStartFailures in a row the pool stops
// trying and, if no worker is left, fails its pending tasks with the reason. It tries again on
// a later Submit to a pool without workers, or when a worker that started well leaves.
//
// What the pool drops without delivering it is reported to Registry.OnDrop: the arguments of a
// task that never ran or could not be submitted, the result of a task nobody may read any more
// (its batch was forgotten, or the task timed out meanwhile), a function's bytes once the pool
// no longer keeps them (and a copy of bytes it keeps already), and, when the Registry frees the
// pool, every function and what Hold kept.
type Pool struct {
	life
	cfg  PoolConfig
	stop chan struct{} // closed by Terminate: ends the spawner's waits between attempts

	mu          sync.Mutex
	spawner     WorkerSpawner // nil until Start
	closed      bool          // no more Submit (set by Terminate too)
	terminated  bool
	lastID      uint64 // the last id given to a function, batch or task: one sequence for all
	funcs       map[uint64]*poolFunc
	funcIDs     map[string]uint64   // a function's bytes -> its id, so each is shipped once
	idleFuncs   map[uint64]struct{} // functions without holds, kept (see idleFunctions)
	idleBytes   int                 // their bytes
	useCount    uint64              // counts releases, to find the oldest idle function
	batches     map[uint64]*poolBatch
	tasks       map[uint64]*poolTask // every task submitted and not forgotten
	pending     taskQueue            // tasks waiting for a worker, oldest first
	idle        waitList             // Next calls of workers waiting for a task
	arriving    waitList             // Next calls of workers whose SpawnWorker has not returned
	workers     map[Owner]*poolWorker
	exitedEarly map[Owner]string // workers reported exited before their SpawnWorker returned
	active      int              // workers that take tasks: started, not leaving
	starting    int              // SpawnWorker calls in flight
	spawning    bool             // Start or the spawn loop is running
	failures    int              // failed starts in a row
	lastFailure string           // why the last start failed
	exited      chan struct{}    // closed when Join may return; nil while no Join waits
	held        [][]byte         // kept until the pool is freed (Hold)
	drops       [][]byte         // bytes the pool dropped, to report as p.mu is unlocked
}

// PoolConfig is what a Pool is made with.
type PoolConfig struct {
	Processes        int           // workers to keep running, at least 1
	MaxTasksPerChild int           // tasks a worker runs before it is replaced; 0: no limit
	TaskTimeout      time.Duration // the longest a task may run before its worker is killed; 0: no limit
}

// WorkerSpawner starts and kills the worker processes of a pool; the host implements it. The
// pool never calls it with its mutex held, so it may call back into the pool.
type WorkerSpawner interface {
	// SpawnWorker starts one worker process, which will loop on Pool.Next and Pool.Done, and
	// returns its owner id and the name the pool's error messages give it, such as
	// "PoolWorker-2 (pid 123)". The worker may call Next before SpawnWorker returns.
	SpawnWorker() (w Owner, name string, err error)
	// KillWorker kills worker w at once (SIGKILL); the host then reports its end with
	// Pool.WorkerExited. It may be called more than once for a worker, or after it exited.
	KillWorker(w Owner)
}

// Task is what Next hands a worker: run function FuncID on Args, then report with Done.
type Task struct {
	ID     uint64
	FuncID uint64
	Func   []byte // the function's encoded bytes, only the first time this worker gets FuncID
	Args   []byte
}

// TaskResult is the outcome of a finished task. The pool keeps Data: the caller must not
// change it.
type TaskResult struct {
	// Data is the encoded result the worker sent with Done, whether or not Err is set: a task
	// that raised sends the outcome of each of its items. It is nil when the pool failed the task.
	Data []byte
	// Err says why the task failed: the error it raised, with the worker's traceback; how its
	// worker ended; a timeout; "the pool was terminated"; or why no worker could start.
	Err string
	// Died says that the task failed because its worker ended while it ran (Err says how):
	// the task itself may be sound, and may run again elsewhere.
	Died bool
}

// Texts of the failures the pool itself gives tasks.
const (
	terminatedText = "the pool was terminated"
	noWorkerText   = "cannot start a pool worker: "
)

// poolTask is one submitted task. Its fields are guarded by the pool's mutex.
type poolTask struct {
	id, funcID uint64
	batch      *poolBatch // nil once forgotten
	args       []byte     // until handed to a worker
	worker     *poolWorker
	timer      *time.Timer // TaskTimeout, while running
	done       bool
	result     TaskResult
	waiters    waitList // Result calls
}

// poolBatch is the tasks of one map or apply call. Its fields are guarded by the pool's mutex.
type poolBatch struct {
	funcs      []uint64 // the functions it holds (NewBatch), released by Forget
	tasks      []*poolTask
	finished   taskQueue // finished and not yet returned by NextDone, in finishing order
	unreturned int       // submitted and not yet returned by NextDone
	unfinished int       // submitted and not yet finished
	waiters    waitList  // NextDone calls
}

// NewPool returns a pool with no worker yet: Start starts them. It returns an error wrapping
// ErrBadPoolConfig when cfg asks for fewer than 1 process or has a negative limit.
func NewPool(cfg PoolConfig) (*Pool, error) {
	switch {
	case cfg.Processes < 1:
		return nil, fmt.Errorf("%w: processes must be at least 1, not %d", ErrBadPoolConfig, cfg.Processes)
	case cfg.MaxTasksPerChild < 0:
		return nil, fmt.Errorf("%w: negative maxtasksperchild %d", ErrBadPoolConfig, cfg.MaxTasksPerChild)
	case cfg.TaskTimeout < 0:
		return nil, fmt.Errorf("%w: negative task timeout %v", ErrBadPoolConfig, cfg.TaskTimeout)
	}
	return &Pool{
		cfg:         cfg,
		stop:        make(chan struct{}),
		funcs:       make(map[uint64]*poolFunc),
		funcIDs:     make(map[string]uint64),
		idleFuncs:   make(map[uint64]struct{}),
		batches:     make(map[uint64]*poolBatch),
		tasks:       make(map[uint64]*poolTask),
		workers:     make(map[Owner]*poolWorker),
		exitedEarly: make(map[Owner]string),
	}, nil
}

// Start starts cfg.Processes workers with s, one after the other, and from then on uses s to
// replace the workers that leave. The pool is separate from its workers so that the host can
// name it (Registry.Add) before any worker asks it for a task. If a worker cannot be started,
// Start terminates the pool and returns the error. It returns ErrPoolRunning when the pool was
// started already and ErrClosed after Close or Terminate.
func (p *Pool) Start(s WorkerSpawner) error {
	p.mu.Lock()
	defer p.unlock()
	switch {
	case p.closed:
		return ErrClosed
	case p.spawner != nil:
		return ErrPoolRunning
	}
	p.spawner, p.spawning = s, true
	for range p.cfg.Processes {
		if err := p.spawnOne(); err != nil {
			p.spawning = false
			p.unlock()
			p.Terminate()
			p.mu.Lock()
			return fmt.Errorf("cannot start a pool worker: %w", err)
		}
		if p.terminated {
			break
		}
	}
	p.spawning = false
	p.replenish() // for workers that already left
	p.settle()
	return nil
}

// NewBatch returns the id of a new, empty batch: the tasks of one map, imap or apply call.
// The batch takes over the caller's holds on funcs, one each, which the caller must have taken
// with AddFunction, and releases them when it is forgotten. After Close or Terminate it
// releases them and returns ErrClosed.
func (p *Pool) NewBatch(funcs ...uint64) (uint64, error) {
	p.mu.Lock()
	defer p.unlock()
	if p.closed {
		for _, id := range funcs {
			p.release(id)
		}
		return 0, ErrClosed
	}
	p.lastID++
	p.batches[p.lastID] = &poolBatch{funcs: funcs}
	return p.lastID, nil
}

// Submit adds a task at the back of the pool's FIFO: run function funcID on args. The pool
// keeps args: the caller must not change it; it drops them when it fails. It returns the task's id, ErrClosed after Close or
// Terminate, or an error wrapping ErrNoTask when the batch or the function is unknown.
func (p *Pool) Submit(batch, funcID uint64, args []byte) (task uint64, err error) {
	p.mu.Lock()
	defer p.unlock()
	defer func() {
		if err != nil {
			p.drop(args)
		}
	}()
	if p.closed {
		return 0, ErrClosed
	}
	b := p.batches[batch]
	if b == nil {
		return 0, fmt.Errorf("%w: no batch %d", ErrNoTask, batch)
	}
	f := p.funcs[funcID]
	if f == nil {
		return 0, fmt.Errorf("%w: no function %d", ErrNoTask, funcID)
	}
	f.holds++ // released by finish
	p.lastID++
	t := &poolTask{id: p.lastID, funcID: funcID, batch: b, args: args}
	p.tasks[t.id] = t
	b.tasks = append(b.tasks, t)
	b.unreturned++
	b.unfinished++
	p.pending.push(t)
	p.idle.wakeFirst()
	if p.active == 0 {
		p.replenish() // the pool gave up starting workers: try again
	}
	return t.id, nil
}

// Result waits as w allows until task has finished and returns its result, which stays
// readable until its batch is forgotten. It returns ErrEmpty when it could not wait or the wait
// ran out, ctx.Err() when ctx ended the wait, and an error wrapping ErrNoTask when the task is
// unknown or forgotten.
func (p *Pool) Result(ctx context.Context, task uint64, w Wait) (TaskResult, error) {
	var d deadline
	defer func() { d.stop() }()
	p.mu.Lock()
	defer p.unlock()
	for started := false; ; {
		t := p.tasks[task]
		switch {
		case t == nil:
			return TaskResult{}, fmt.Errorf("%w: no task %d", ErrNoTask, task)
		case t.done:
			return t.result, nil
		case !w.mayBlock():
			return TaskResult{}, ErrEmpty
		}
		if !started {
			d, started = w.start(), true
		}
		wt := t.waiters.add(MainScript)
		p.unlock()
		err := d.await(ctx, wt.wake)
		p.mu.Lock()
		t.waiters.remove(wt)
		switch {
		case err == errTimedOut:
			w = DontWait // one last look, then ErrEmpty
		case err != nil:
			return TaskResult{}, err
		}
	}
}

// NextDone waits as w allows for a task of batch that has finished and that NextDone has not
// returned before, and returns it with its result: tasks come out in the order they finished
// (imap_unordered). It returns ErrBatchDone when every task submitted to the batch has been
// returned, ErrEmpty when it could not wait or the wait ran out, ctx.Err() when ctx ended the
// wait, and an error wrapping ErrNoTask when the batch is unknown or forgotten.
func (p *Pool) NextDone(ctx context.Context, batch uint64, w Wait) (task uint64, r TaskResult, err error) {
	var d deadline
	defer func() { d.stop() }()
	p.mu.Lock()
	defer p.unlock()
	for started := false; ; {
		b := p.batches[batch]
		switch {
		case b == nil:
			return 0, TaskResult{}, fmt.Errorf("%w: no batch %d", ErrNoTask, batch)
		case b.finished.len() > 0:
			t := b.finished.pop()
			b.unreturned--
			if b.unreturned == 0 {
				b.waiters.wakeAll() // to return ErrBatchDone
			} else if b.finished.len() > 0 {
				b.waiters.wakeFirst() // this call may have taken a turn it was not woken for
			}
			return t.id, t.result, nil
		case b.unreturned == 0:
			return 0, TaskResult{}, ErrBatchDone
		case !w.mayBlock():
			return 0, TaskResult{}, ErrEmpty
		}
		if !started {
			d, started = w.start(), true
		}
		wt := b.waiters.add(MainScript)
		p.unlock()
		err := d.await(ctx, wt.wake)
		p.mu.Lock()
		b.waiters.remove(wt)
		switch {
		case err == errTimedOut:
			w = DontWait // one last look, then ErrEmpty
		case err != nil:
			if b.finished.len() > 0 {
				b.waiters.wakeFirst() // pass on the turn this call may have been woken for
			}
			return 0, TaskResult{}, err
		}
	}
}

// Finished reports whether every task submitted to batch has finished; a forgotten or unknown
// batch counts as finished.
func (p *Pool) Finished(batch uint64) bool {
	p.mu.Lock()
	defer p.unlock()
	b := p.batches[batch]
	return b == nil || b.unfinished == 0
}

// Kept returns how many batches, tasks and functions the pool keeps for its calls: the batches
// and tasks not forgotten, and the functions in use (not counting the idle ones it keeps, at
// most idleFunctions).
func (p *Pool) Kept() (batches, tasks, funcs int) {
	p.mu.Lock()
	defer p.unlock()
	return len(p.batches), len(p.tasks), len(p.funcs) - len(p.idleFuncs)
}

// Waiting returns how many tasks wait in the FIFO for a worker.
func (p *Pool) Waiting() int {
	p.mu.Lock()
	defer p.unlock()
	return p.pending.len()
}

// Ready reports whether task has finished (and is not forgotten).
func (p *Pool) Ready(task uint64) bool {
	p.mu.Lock()
	defer p.unlock()
	t := p.tasks[task]
	return t != nil && t.done
}

// Forget drops batch and the results of its tasks; waiting Result and NextDone calls for them
// return ErrNoTask. Its tasks still pending or running are not stopped, but their results are
// dropped as they finish. Forgetting an unknown batch does nothing.
func (p *Pool) Forget(batch uint64) {
	p.mu.Lock()
	defer p.unlock()
	b := p.batches[batch]
	if b == nil {
		return
	}
	delete(p.batches, batch)
	for _, id := range b.funcs {
		p.release(id)
	}
	for _, t := range b.tasks {
		delete(p.tasks, t.id)
		t.batch, t.result = nil, TaskResult{}
		t.waiters.wakeAll()
	}
	b.waiters.wakeAll()
	*b = poolBatch{}
}

// RetiresWorkers reports whether the pool replaces each worker after MaxTasksPerChild tasks.
func (p *Pool) RetiresWorkers() bool { return p.cfg.MaxTasksPerChild > 0 }

// Close stops the pool taking tasks: Submit returns ErrClosed, the workers run the tasks still
// pending (workers that leave meanwhile are replaced), then their Next returns ErrClosed and
// they exit. Closing twice, or after Terminate, is harmless.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.unlock()
	p.closed = true
	p.idle.wakeAll()
	p.settle()
}

// Terminate kills every worker now (KillWorker) and fails every pending and running task with
// "the pool was terminated"; Submit then returns ErrClosed and Next ErrClosed. Terminating twice
// is harmless.
func (p *Pool) Terminate() {
	p.mu.Lock()
	if p.terminated {
		p.unlock()
		return
	}
	p.closed, p.terminated = true, true
	close(p.stop)
	for p.pending.len() > 0 {
		p.finish(p.pending.pop(), nil, terminatedText)
	}
	kill := make([]Owner, 0, len(p.workers))
	for _, wk := range p.workers {
		if wk.task != nil {
			p.finish(wk.task, nil, terminatedText)
		}
		p.leave(wk)
		kill = append(kill, wk.id)
	}
	p.idle.wakeAll()
	p.arriving.wakeAll()
	s := p.spawner
	p.settle()
	p.unlock()
	for _, w := range kill {
		s.KillWorker(w)
	}
}

// Join waits until every worker has exited (as reported by WorkerExited) and no worker is being
// started, after Close or Terminate. It returns ErrPoolRunning before Close or Terminate, and
// ctx.Err() when ctx ends the wait.
func (p *Pool) Join(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.unlock()
		return ErrPoolRunning
	}
	if p.finished() {
		p.unlock()
		return nil
	}
	if p.exited == nil {
		p.exited = make(chan struct{})
	}
	exited := p.exited
	p.unlock()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finished reports whether the pool is closed and has no worker left nor coming. The caller
// holds p.mu.
func (p *Pool) finished() bool {
	return p.closed && len(p.workers) == 0 && p.starting == 0 && !p.spawning
}

// settle releases the Join calls waiting if the pool has finished. The caller holds p.mu and
// calls it after anything that may finish the pool.
func (p *Pool) settle() {
	if p.exited != nil && p.finished() {
		close(p.exited)
		p.exited = nil
	}
}

// finish records the outcome of task t, which has stopped running or will never run, and wakes
// who waits for it. The caller holds p.mu.
func (p *Pool) finish(t *poolTask, data []byte, errText string) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.worker != nil {
		t.worker.task, t.worker = nil, nil
	}
	if t.done {
		p.drop(data)
		return // finished already
	}
	p.release(t.funcID)
	p.drop(t.args) // it never ran
	t.done, t.args = true, nil
	t.waiters.wakeAll()
	if b := t.batch; b != nil {
		b.unfinished--
		t.result = TaskResult{Data: data, Err: errText}
		b.finished.push(t)
		b.waiters.wakeFirst()
	} else {
		p.drop(data) // forgotten: nobody reads it
	}
}

// drop records bytes the pool drops, reported once p.mu is unlocked. The caller holds p.mu.
func (p *Pool) drop(data []byte) {
	if data != nil {
		p.drops = append(p.drops, data)
	}
}

// unlock unlocks p.mu, then reports what the pool dropped meanwhile.
func (p *Pool) unlock() {
	drops := p.drops
	p.drops = nil
	p.mu.Unlock()
	p.dropped(drops...)
}

// Hold keeps data, bytes that stand for as long as the pool does (the payload each of its
// workers starts with), until the Registry frees the pool: then it is dropped.
func (p *Pool) Hold(data []byte) {
	p.mu.Lock()
	defer p.unlock()
	p.held = append(p.held, data)
}

// discard terminates the pool and drops its functions and what it holds. The Registry calls it
// when it frees the pool.
func (p *Pool) discard() {
	p.Terminate()
	p.mu.Lock()
	defer p.unlock()
	for _, f := range p.funcs {
		p.drop([]byte(f.data))
	}
	clear(p.funcs)
	clear(p.funcIDs)
	clear(p.idleFuncs)
	p.idleBytes = 0
	for _, data := range p.held {
		p.drop(data)
	}
	p.held = nil
}

// taskQueue is a FIFO of tasks. The zero taskQueue is empty. It is guarded by the pool's mutex.
type taskQueue struct {
	buf  []*poolTask
	head int // index of the oldest task
}

func (q *taskQueue) len() int { return len(q.buf) - q.head }

// push adds t at the back.
func (q *taskQueue) push(t *poolTask) {
	if len(q.buf) == cap(q.buf) && q.head >= len(q.buf)/2 && q.head > 0 {
		// At least half the buffer is taken: slide the rest down instead of growing.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, t)
}

// pop removes and returns the oldest task; the queue must not be empty.
func (q *taskQueue) pop() *poolTask {
	t := q.buf[q.head]
	q.buf[q.head] = nil // let the task be collected
	q.head++
	if q.head == len(q.buf) {
		if cap(q.buf) > 16*minFIFO {
			q.buf = nil // drop the buffer of a big batch
		}
		q.buf, q.head = q.buf[:0], 0
	}
	return t
}
