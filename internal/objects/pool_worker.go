package objects

import (
	"context"
	"fmt"
	"time"
)

// This file is the workers' side of a Pool: the calls of worker processes (Next, Done), the
// host's report of their end (WorkerExited), and the starting of workers.

// Starting workers that keep failing: after a failed start the next waits startBackoff, doubled
// for each failure in a row; after maxStartFailures in a row the pool gives up (see Pool).
const (
	startBackoff     = 10 * time.Millisecond
	maxStartFailures = 5
)

// poolWorker is one worker process of a pool, from its SpawnWorker to its WorkerExited. Its
// fields are guarded by the pool's mutex.
type poolWorker struct {
	id      Owner
	name    string
	task    *poolTask           // the task in flight, or nil
	done    int                 // tasks finished with Done
	shipped map[uint64]struct{} // the functions it has been sent
	ready   bool                // it has called Next: it started well
	leaving bool                // retired, being killed or terminated: no more tasks
}

// label is how error messages name the worker.
func (wk *poolWorker) label() string {
	if wk.name != "" {
		return wk.name
	}
	return fmt.Sprintf("%d", wk.id)
}

// Next waits as wait allows until a task is available for worker w and hands it over, oldest
// first; the worker runs it and reports with Done before it calls Next again. Task.Func is set
// only the first time w gets Task.FuncID. Next returns ErrRetire when w must exit (it has run
// MaxTasksPerChild tasks, or is being killed), ErrClosed when the pool is closed and no task is
// left, or terminated, ErrEmpty when it could not wait or the wait ran out, ctx.Err() when ctx
// ended the wait, an error wrapping ErrTaskInFlight when w has not reported its task, an error
// wrapping ErrNotWorker when the pool did not start w, and ErrOwnerDied when w has died. The
// worker should exit on any error but ErrEmpty.
func (p *Pool) Next(ctx context.Context, w Owner, wait Wait) (Task, error) {
	var d deadline
	defer func() { d.stop() }()
	p.mu.Lock()
	defer p.unlock()
	for started := false; ; {
		if p.dead(w) {
			p.passOnTasks()
			return Task{}, ErrOwnerDied
		}
		list := &p.idle
		if wk := p.workers[w]; wk != nil {
			task, err, park := p.take(wk)
			if !park {
				if err != nil {
					p.passOnTasks()
				}
				return task, err
			}
		} else {
			p.passOnTasks() // in case w was woken as idle, then exited
			if p.starting == 0 {
				return Task{}, fmt.Errorf("%w: owner %d", ErrNotWorker, w)
			}
			list = &p.arriving // its SpawnWorker has not returned yet
		}
		if !wait.mayBlock() {
			return Task{}, ErrEmpty
		}
		if !started {
			d, started = wait.start(), true
		}
		wt := list.add(w)
		p.unlock()
		err := d.await(ctx, wt.wake)
		p.mu.Lock()
		list.remove(wt)
		switch {
		case wt.err != nil:
			p.passOnTasks()
			return Task{}, wt.err
		case err == errTimedOut:
			wait = DontWait // one last look, then ErrEmpty
		case err != nil:
			p.passOnTasks()
			return Task{}, err
		}
	}
}

// take hands the oldest pending task to wk, or says why not, or that wk must wait (park). The
// caller holds p.mu.
func (p *Pool) take(wk *poolWorker) (task Task, err error, park bool) {
	if !wk.ready {
		wk.ready, p.failures = true, 0
	}
	switch {
	case p.terminated:
		return Task{}, ErrClosed, false
	case wk.leaving:
		return Task{}, ErrRetire, false
	case wk.task != nil:
		return Task{}, fmt.Errorf("%w: task %d", ErrTaskInFlight, wk.task.id), false
	case p.closed && p.pending.len() == 0:
		return Task{}, ErrClosed, false
	case p.cfg.MaxTasksPerChild > 0 && wk.done >= p.cfg.MaxTasksPerChild:
		p.leave(wk)
		p.replace(wk, "")
		return Task{}, ErrRetire, false
	case p.pending.len() == 0:
		return Task{}, nil, true
	}
	t := p.pending.pop()
	t.worker, wk.task = wk, t
	task = Task{ID: t.id, FuncID: t.funcID, Args: t.args}
	t.args = nil
	if _, ok := wk.shipped[t.funcID]; !ok {
		if wk.shipped == nil {
			wk.shipped = make(map[uint64]struct{})
		}
		wk.shipped[t.funcID] = struct{}{}
		if f := p.funcs[t.funcID]; f != nil { // it is: the task holds it (or the worker fails it)
			task.Func = []byte(f.data)
		}
	}
	if p.cfg.TaskTimeout > 0 {
		t.timer = time.AfterFunc(p.cfg.TaskTimeout, func() { p.expire(t, wk) })
	}
	return task, nil, false
}

// passOnTasks wakes a waiting worker if a task is pending: a Next that leaves without a task
// may have been woken for one. The caller holds p.mu.
func (p *Pool) passOnTasks() {
	if p.pending.len() > 0 {
		p.idle.wakeFirst()
	}
}

// Done reports that worker w has finished task: result is its encoded result and errText,
// when not "", the error it raised with the worker's traceback (result then says which items
// raised what, or is nil). It returns an error wrapping
// ErrNoTask when w is not running task, which happens when the task timed out or the pool was
// terminated while the report was on its way (the host may ignore it), and ErrOwnerDied when w
// has died; result is then dropped.
func (p *Pool) Done(w Owner, task uint64, result []byte, errText string) error {
	p.mu.Lock()
	defer p.unlock()
	if p.dead(w) {
		p.drop(result)
		return ErrOwnerDied
	}
	wk := p.workers[w]
	if wk == nil || wk.task == nil || wk.task.id != task {
		p.drop(result)
		return fmt.Errorf("%w: task %d is not running on worker %d", ErrNoTask, task, w)
	}
	wk.done++
	p.finish(wk.task, result, errText)
	return nil
}

// WorkerExited is called by the host when worker w has ended, in any way; how says how, for
// the script author, e.g. "worker PoolWorker-2 (pid 123) died: killed by signal 9". The task w
// was running, if any, fails with how as its error, and w is replaced unless it was leaving
// anyway or the pool no longer needs workers. Reports after the first are ignored.
func (p *Pool) WorkerExited(w Owner, how string) {
	p.mu.Lock()
	defer p.unlock()
	wk, known := p.workers[w]
	if !known {
		wk = &poolWorker{id: w} // its SpawnWorker has not returned yet, or not a worker
	}
	if how == "" {
		how = "worker " + wk.label() + " exited"
	}
	if !known {
		if p.starting > 0 {
			p.exitedEarly[w] = how // counted as a failed start when SpawnWorker returns
		}
		return
	}
	delete(p.workers, w)
	p.idle.failOwner(w, ErrOwnerDied)
	if t := wk.task; t != nil {
		p.finish(t, nil, how)
		t.result.Died = t.batch != nil
	}
	if !wk.leaving {
		p.active--
		p.replace(wk, how)
	}
	p.settle()
}

// died is called by Registry.Died: the Next calls of a dead worker return ErrOwnerDied. The
// host still reports the worker's end with WorkerExited.
func (p *Pool) died(owner Owner) {
	p.mu.Lock()
	defer p.unlock()
	p.idle.failOwner(owner, ErrOwnerDied)
	p.arriving.failOwner(owner, ErrOwnerDied)
	p.passOnTasks()
}

// expire is called by the timer of task t, started when wk took it. If t is still running there,
// it fails with a timeout error, set before wk is killed so that wk's WorkerExited finds no task
// to fail, and wk is replaced.
func (p *Pool) expire(t *poolTask, wk *poolWorker) {
	p.mu.Lock()
	if t.worker != wk || t.done {
		p.unlock()
		return // finished first
	}
	p.finish(t, nil, fmt.Sprintf("task timed out after %v; worker %s was killed", p.cfg.TaskTimeout, wk.label()))
	p.leave(wk)
	p.replace(wk, "")
	s := p.spawner
	p.unlock()
	s.KillWorker(wk.id)
}

// leave marks wk as leaving: it takes no more tasks and no longer counts as one of the
// Processes the pool keeps. The caller holds p.mu.
func (p *Pool) leave(wk *poolWorker) {
	if !wk.leaving {
		wk.leaving = true
		p.active--
	}
}

// replace starts a worker in place of wk, which has left (how) or is leaving. A worker that
// left before it asked for a task counts as a failed start; one that started well gives a pool
// that gave up starting workers a new series of attempts. The caller holds p.mu.
func (p *Pool) replace(wk *poolWorker, how string) {
	switch {
	case !wk.ready:
		p.startFailed(how)
	case p.failures >= maxStartFailures:
		p.failures = 0
	}
	p.replenish()
}

// shortfall is the number of workers the pool lacks: none once terminated, or closed with no
// task left. The caller holds p.mu.
func (p *Pool) shortfall() int {
	if p.spawner == nil || p.terminated || p.closed && p.pending.len() == 0 {
		return 0
	}
	return p.cfg.Processes - p.active - p.starting
}

// replenish starts the spawn loop if the pool lacks workers and nothing is starting them. The
// caller holds p.mu.
func (p *Pool) replenish() {
	if !p.spawning && p.shortfall() > 0 {
		p.spawning = true
		go p.spawnLoop()
	}
}

// spawnLoop starts workers, one at a time, until the pool lacks none, waiting between attempts
// while starts fail, and gives up after maxStartFailures failures in a row. It is owned by the
// pool: it ends when no worker is lacking, on Terminate, or when it gives up.
func (p *Pool) spawnLoop() {
	p.mu.Lock()
	defer p.unlock()
	waited := 0 // the failure count the last wait was for
	for p.shortfall() > 0 {
		switch {
		case p.failures >= maxStartFailures:
			p.giveUp()
			p.spawning = false
			p.settle()
			return
		case p.failures > 0 && waited != p.failures:
			waited = p.failures
			p.unlock()
			t := time.NewTimer(startBackoff << (waited - 1))
			select {
			case <-t.C:
			case <-p.stop:
			}
			t.Stop()
			p.mu.Lock()
			continue
		}
		if err := p.spawnOne(); err != nil {
			p.startFailed(err.Error())
		}
	}
	p.spawning = false
	p.settle()
}

// startFailed counts a failed start. The caller holds p.mu.
func (p *Pool) startFailed(why string) {
	p.failures++
	p.lastFailure = why
}

// giveUp stops starting workers after too many failures. If no worker is left, the pending
// tasks fail with the reason, and the count starts over for the next Submit; otherwise it stays
// until a worker that started well leaves (see replace). The caller holds p.mu.
func (p *Pool) giveUp() {
	if p.active > 0 {
		return
	}
	for p.pending.len() > 0 {
		p.finish(p.pending.pop(), nil, noWorkerText+p.lastFailure)
	}
	p.failures = 0
}

// spawnOne starts one worker. The caller holds p.mu, which is released while SpawnWorker runs.
func (p *Pool) spawnOne() error {
	p.starting++
	s := p.spawner
	p.unlock()
	id, name, err := s.SpawnWorker()
	p.mu.Lock()
	p.starting--
	defer p.arrived()
	if err != nil {
		return err
	}
	if how, ok := p.exitedEarly[id]; ok {
		delete(p.exitedEarly, id)
		p.startFailed(how)
		return nil
	}
	wk := &poolWorker{id: id, name: name}
	p.workers[id] = wk
	if p.terminated {
		wk.leaving = true
		p.unlock()
		s.KillWorker(id)
		p.mu.Lock()
		return nil
	}
	p.active++
	return nil
}

// arrived wakes the Next calls of workers whose SpawnWorker had not returned, after one has.
// The caller holds p.mu.
func (p *Pool) arrived() {
	if p.starting == 0 {
		clear(p.exitedEarly) // any left are not workers of this pool
	}
	p.arriving.wakeAll()
}
