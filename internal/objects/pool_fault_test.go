package objects

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests of a pool whose workers die, hang, retire or cannot start, and of the worker protocol.

// activeWorkers is the number of workers that take tasks.
func (p *Pool) activeWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

func TestPoolWorkerDies(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2}, nil)
	_, before := submit(t, p, "square", numbers(20)...)
	_, dying := submit(t, p, "die", "")
	_, after := submit(t, p, "square", numbers(20)...)
	r := mustResult(t, p, dying[0])
	if !strings.HasPrefix(r.Err, "worker PoolWorker-") || !strings.HasSuffix(r.Err, "died: killed by signal 9") {
		t.Fatalf("task of a dead worker = %+v", r)
	}
	checkSquares(t, p, before)
	checkSquares(t, p, after)
	eventually(t, "a replacement starts", func() bool { return h.spawned() == 3 && p.activeWorkers() == 2 })
	joined(t, p)
}

// noLeaks fails the test unless the number of goroutines drops back to base: the pool's spawn
// loop and the worker goroutines have ended.
func noLeaks(t *testing.T, base int) {
	t.Helper()
	eventually(t, "the goroutines end", func() bool { return runtime.NumGoroutine() <= base })
}

func TestPoolTaskTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	base := runtime.NumGoroutine()
	p, h := newFakePool(t, PoolConfig{Processes: 1, TaskTimeout: timeout}, nil)
	_, quick := submit(t, p, "square", numbers(10)...)
	_, hung := submit(t, p, "hang", "")
	_, later := submit(t, p, "square", numbers(10)...)
	began := time.Now()
	r := mustResult(t, p, hung[0])
	atLeast(t, began, timeout)
	if want := "task timed out after 50ms; worker PoolWorker-1 (pid 1001) was killed"; r.Err != want {
		t.Fatalf("hung task = %+v, want error %q", r, want)
	}
	checkSquares(t, p, quick)
	checkSquares(t, p, later)
	joined(t, p) // worker 1 ends only once killed: the error is set before KillWorker
	h.wait(t)
	noLeaks(t, base)
	h.mu.Lock()
	kills := append([]Owner(nil), h.kills...)
	h.mu.Unlock()
	if len(kills) != 1 || kills[0] != 1 {
		t.Fatalf("kills = %v, want [1]", kills)
	}
	// The killed worker's exit, reported after the timeout, did not overwrite the error.
	if r := mustResult(t, p, hung[0]); !strings.HasPrefix(r.Err, "task timed out") {
		t.Fatalf("hung task after its worker exited = %+v", r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, task := range p.tasks {
		if task.timer != nil {
			t.Fatalf("task %d still has a timer", task.id)
		}
	}
}

func TestPoolMaxTasksPerChild(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2, MaxTasksPerChild: 3}, nil)
	_, tasks := submit(t, p, "square", numbers(20)...)
	checkSquares(t, p, tasks)
	joined(t, p)
	h.wait(t)
	retired := 0
	for _, fw := range h.workers {
		if fw.tasks > 3 {
			t.Errorf("worker %d ran %d tasks, more than 3", fw.id, fw.tasks)
		}
		if errors.Is(fw.exitErr, ErrRetire) {
			retired++
		}
	}
	if len(h.workers) < 7 || retired < 5 {
		t.Fatalf("%d workers started, %d retired; want at least 7 and 5", len(h.workers), retired)
	}
}

func TestPoolWorkerArrivesEarly(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2}, func(h *fakeHost) { h.waitArrival = true })
	_, tasks := submit(t, p, "square", numbers(100)...)
	checkSquares(t, p, tasks)
	joined(t, p)
	if h.spawned() != 2 {
		t.Fatalf("%d workers started, want 2", h.spawned())
	}
}

func TestPoolWorkerExitsBeforeSpawnReturns(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 1}, func(h *fakeHost) {
		h.exitEarly = func(attempt int) bool { return attempt == 1 }
	})
	_, tasks := submit(t, p, "square", numbers(10)...)
	checkSquares(t, p, tasks)
	joined(t, p)
	if h.spawned() != 2 {
		t.Fatalf("%d workers started, want 2", h.spawned())
	}
}

func TestPoolStartFails(t *testing.T) {
	p, err := NewPool(PoolConfig{Processes: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{t: t, pool: p, manual: true, workers: make(map[Owner]*fakeWorker)}
	h.failSpawn = func(attempt int) error {
		if attempt == 2 {
			return errors.New("fork: resource temporarily unavailable")
		}
		return nil
	}
	if err := p.Start(h); err == nil || !strings.Contains(err.Error(), "fork: resource") {
		t.Fatalf("Start = %v, want the spawn error", err)
	}
	if _, err := p.NewBatch(p.AddFunction(nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewBatch after a failed Start = %v, want ErrClosed", err)
	}
	if len(h.kills) != 1 || h.kills[0] != 1 {
		t.Fatalf("kills = %v, want the worker started [1]", h.kills)
	}
	p.WorkerExited(1, "")
	if err := p.Join(bg); err != nil {
		t.Fatal(err)
	}
}

func TestPoolSpawnKeepsFailing(t *testing.T) {
	base := runtime.NumGoroutine()
	p, h := newFakePool(t, PoolConfig{Processes: 1}, func(h *fakeHost) {
		h.failSpawn = func(attempt int) error {
			if attempt > 1 {
				return errors.New("fork: resource temporarily unavailable")
			}
			return nil
		}
	})
	_, dying := submit(t, p, "die", "")
	_, stranded := submit(t, p, "square", "1", "2")
	if r := mustResult(t, p, dying[0]); r.Err != killedHow(1) {
		t.Fatalf("task of the dead worker = %+v", r)
	}
	for _, task := range stranded {
		if r := mustResult(t, p, task); r.Err != noWorkerText+"fork: resource temporarily unavailable" {
			t.Fatalf("task with no worker = %+v", r)
		}
	}
	h.mu.Lock()
	attempts := h.attempts
	h.mu.Unlock()
	if attempts != 1+maxStartFailures {
		t.Fatalf("%d spawn attempts, want %d", attempts, 1+maxStartFailures)
	}
	// A later Submit tries again, and fails again.
	_, again := submit(t, p, "square", "3")
	if r := mustResult(t, p, again[0]); !strings.HasPrefix(r.Err, noWorkerText) {
		t.Fatalf("task submitted after giving up = %+v", r)
	}
	joined(t, p)
	h.wait(t)
	noLeaks(t, base)
}

func TestPoolWorkersDieAtStart(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2}, func(h *fakeHost) {
		h.dieAtStart = func(int) bool { return true }
	})
	_, tasks := submit(t, p, "square", "1", "2")
	for _, task := range tasks {
		r := mustResult(t, p, task)
		if !strings.HasPrefix(r.Err, noWorkerText+"worker PoolWorker-") || !strings.HasSuffix(r.Err, "died: exit status 1") {
			t.Fatalf("task of a pool whose workers die at start = %+v", r)
		}
	}
	if n := h.spawned(); n > 2+maxStartFailures {
		t.Fatalf("%d workers started, want at most %d", n, 2+maxStartFailures)
	}
	joined(t, p)
}

func TestPoolRecoversAfterFailedStarts(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 1}, func(h *fakeHost) {
		h.dieAtStart = func(attempt int) bool { return attempt > 1 && attempt < 4 }
	})
	_, dying := submit(t, p, "die", "")
	_, tasks := submit(t, p, "square", numbers(10)...)
	mustResult(t, p, dying[0])
	checkSquares(t, p, tasks)
	p.mu.Lock()
	failures := p.failures
	p.mu.Unlock()
	if failures != 0 || h.spawned() != 4 {
		t.Fatalf("failures = %d, %d workers started; want 0 and 4", failures, h.spawned())
	}
	joined(t, p)
}

func TestPoolRetriesAfterGivingUp(t *testing.T) {
	broken := true // guarded by h.mu
	p, h := newFakePool(t, PoolConfig{Processes: 2}, func(h *fakeHost) {
		h.failSpawn = func(attempt int) error {
			if attempt > 2 && broken {
				return errors.New("fork: resource temporarily unavailable")
			}
			return nil
		}
	})
	_, dying := submit(t, p, "die", "")
	mustResult(t, p, dying[0])
	eventually(t, "the pool gives up with one worker left", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return !p.spawning && p.failures == maxStartFailures && p.active == 1
	})
	h.mu.Lock()
	broken = false
	h.mu.Unlock()
	// The last worker, which started well, dies: the pool tries again and succeeds.
	_, dying = submit(t, p, "die", "")
	_, tasks := submit(t, p, "square", numbers(10)...)
	mustResult(t, p, dying[0])
	checkSquares(t, p, tasks)
	joined(t, p)
}

// manualPool returns a started pool with one worker, 1, whose calls the test makes.
func manualPool(t *testing.T, cfg PoolConfig) (*Pool, *fakeHost) {
	return newFakePool(t, cfg, func(h *fakeHost) { h.manual = true })
}

func TestPoolWorkerProtocol(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	if _, err := p.Next(bg, 1, DontWait); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Next with no task = %v, want ErrEmpty", err)
	}
	began := time.Now()
	if _, err := p.Next(bg, 1, WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Next timed out = %v, want ErrEmpty", err)
	}
	atLeast(t, began, shortWait)
	ctx, cancel := cancelled(t)
	next := start(func() result { _, err := p.Next(ctx, 1, WaitForever); return result{err: err} })
	pending(t, next)
	cancel()
	if r := await(t, next); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Next = %v", r.err)
	}
	if _, err := p.Next(bg, 99, WaitForever); !errors.Is(err, ErrNotWorker) {
		t.Fatalf("Next of a stranger = %v, want ErrNotWorker", err)
	}

	// A task submitted while the worker waits wakes it.
	next = start(func() result {
		task, err := p.Next(bg, 1, WaitForever)
		return result{n: int(task.ID), data: task.Func, err: err}
	})
	eventually(t, "the worker waits", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.idle.len() == 1 })
	_, tasks := submit(t, p, "square", "7", "8")
	r := await(t, next)
	if r.err != nil || uint64(r.n) != tasks[0] || string(r.data) != "square" {
		t.Fatalf("Next = %+v, want task %d with its function", r, tasks[0])
	}
	if _, err := p.Next(bg, 1, DontWait); !errors.Is(err, ErrTaskInFlight) {
		t.Fatalf("Next with a task in flight = %v, want ErrTaskInFlight", err)
	}
	if err := p.Done(1, tasks[1], nil, ""); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Done of a task not running = %v, want ErrNoTask", err)
	}
	if err := p.Done(1, tasks[0], []byte("49"), ""); err != nil {
		t.Fatal(err)
	}
	task, err := p.Next(bg, 1, DontWait)
	if err != nil || task.ID != tasks[1] || task.Func != nil || string(task.Args) != "8" {
		t.Fatalf("second Next = %+v, %v; want task %d without its function", task, err, tasks[1])
	}
	if err := p.Done(1, task.ID, []byte("64"), ""); err != nil {
		t.Fatal(err)
	}
	if r := mustResult(t, p, tasks[1]); string(r.Data) != "64" {
		t.Fatalf("Result = %+v", r)
	}
}

func TestPoolForgetRunning(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	batch, tasks := submit(t, p, "square", "1", "2")
	task, err := p.Next(bg, 1, DontWait)
	if err != nil {
		t.Fatal(err)
	}
	waiting := start(func() result { _, err := p.Result(bg, tasks[0], WaitForever); return result{err: err} })
	pending(t, waiting)
	p.Forget(batch)
	if r := await(t, waiting); !errors.Is(r.err, ErrNoTask) {
		t.Fatalf("Result waiting when its batch was forgotten = %v, want ErrNoTask", r.err)
	}
	if err := p.Done(1, task.ID, []byte("1"), ""); err != nil {
		t.Fatalf("Done of a forgotten task = %v", err)
	}
	if task, err := p.Next(bg, 1, DontWait); err != nil || task.ID != tasks[1] {
		t.Fatalf("the forgotten batch's pending task was not run: %+v, %v", task, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tasks) != 0 || len(p.batches) != 0 {
		t.Fatalf("after Forget the pool holds %d tasks, %d batches", len(p.tasks), len(p.batches))
	}
}

func TestPoolRegistryDied(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	r := newRegistryWith(p)
	next := start(func() result { _, err := p.Next(bg, 1, WaitForever); return result{err: err} })
	eventually(t, "the worker waits", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.idle.len() == 1 })
	r.Died(1)
	if res := await(t, next); !errors.Is(res.err, ErrOwnerDied) {
		t.Fatalf("Next of a dead worker = %v, want ErrOwnerDied", res.err)
	}
	if err := p.Done(1, 1, nil, ""); !errors.Is(err, ErrOwnerDied) {
		t.Fatalf("Done of a dead worker = %v, want ErrOwnerDied", err)
	}
	p.WorkerExited(1, "")
	eventually(t, "a replacement starts", func() bool { return p.activeWorkers() == 1 })
}

// BenchmarkPoolTask measures one task through the pool: Submit, Next, Done and Result, with
// the worker's calls made in the same goroutine; batches of 1000 tasks are forgotten once read,
// as a map call does.
func BenchmarkPoolTask(b *testing.B) {
	p, err := NewPool(PoolConfig{Processes: 1})
	if err != nil {
		b.Fatal(err)
	}
	h := &fakeHost{t: b, pool: p, manual: true, workers: make(map[Owner]*fakeWorker)}
	if err := p.Start(h); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	batch, _ := p.NewBatch()
	f := p.AddFunction([]byte("square"))
	args, result := []byte("12"), []byte("144")
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 {
			p.Forget(batch)
			batch, _ = p.NewBatch()
		}
		id, err := p.Submit(batch, f, args)
		if err != nil {
			b.Fatal(err)
		}
		task, err := p.Next(ctx, 1, WaitForever)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Done(1, task.ID, result, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Result(ctx, id, WaitForever); err != nil {
			b.Fatal(err)
		}
	}
	p.Forget(batch)
	p.Terminate()
}

// BenchmarkPoolWorkers measures tasks run by 4 worker goroutines, submitted and read by one.
func BenchmarkPoolWorkers(b *testing.B) {
	p, err := NewPool(PoolConfig{Processes: 4})
	if err != nil {
		b.Fatal(err)
	}
	h := &fakeHost{t: b, pool: p, workers: make(map[Owner]*fakeWorker), gates: make(map[string]chan struct{})}
	if err := p.Start(h); err != nil {
		b.Fatal(err)
	}
	batch, _ := p.NewBatch()
	f := p.AddFunction([]byte("square"))
	tasks := make([]uint64, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		id, err := p.Submit(batch, f, []byte(strconv.Itoa(i%1000)))
		if err != nil {
			b.Fatal(err)
		}
		tasks = append(tasks, id)
	}
	for _, id := range tasks {
		if _, err := p.Result(context.Background(), id, WaitForever); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.Forget(batch)
	p.Close()
	if err := p.Join(context.Background()); err != nil {
		b.Fatal(err)
	}
}
