package objects

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeHost stands for the host of a pool: its workers are goroutines looping on Next and Done
// (or, when manual, nothing: the test makes their calls). A worker runs the function it was
// shipped, by name:
//
//	square  the square of the decimal integer in args
//	raise   raises "boom: ARGS" (errText)
//	hang    never finishes: waits until killed
//	die     the worker dies in the middle of the task
//	gate    waits until the test opens the gate named by args (or the worker is killed)
type fakeHost struct {
	t      testing.TB
	pool   *Pool
	manual bool // no goroutines: the test calls Next and Done for its workers

	// Set before Start, read by SpawnWorker.
	failSpawn   func(attempt int) error // a non-nil result makes that SpawnWorker fail
	dieAtStart  func(attempt int) bool  // the worker exits before it asks for a task
	exitEarly   func(attempt int) bool  // the worker's exit is reported before SpawnWorker returns
	waitArrival bool                    // SpawnWorker returns once the worker waits in Next

	mu       sync.Mutex
	attempts int
	last     Owner
	workers  map[Owner]*fakeWorker
	kills    []Owner
	gates    map[string]chan struct{}
	running  sync.WaitGroup
}

// fakeWorker is one worker of a fakeHost; its counters are guarded by the host's mutex.
type fakeWorker struct {
	id      Owner
	ctx     context.Context
	kill    context.CancelFunc
	funcs   map[uint64]string // the functions it was shipped
	shipped map[uint64]int    // how many times each function was shipped to it
	tasks   int               // tasks it finished
	exitErr error             // what ended its loop
}

// killedHow is how the fake host reports a worker killed by KillWorker or dead in a task.
func killedHow(w Owner) string {
	return fmt.Sprintf("worker PoolWorker-%d (pid %d) died: killed by signal 9", w, 1000+w)
}

// newFakePool returns a started pool with cfg whose workers are run by a new fakeHost; set
// changes the host before the start. The test's cleanup terminates the pool and checks that
// every worker goroutine has ended.
func newFakePool(t *testing.T, cfg PoolConfig, set func(h *fakeHost)) (*Pool, *fakeHost) {
	t.Helper()
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{t: t, pool: p, workers: make(map[Owner]*fakeWorker), gates: make(map[string]chan struct{})}
	if set != nil {
		set(h)
	}
	t.Cleanup(func() {
		p.Terminate()
		ctx, cancel := context.WithTimeout(bg, patience)
		defer cancel()
		if !h.manual {
			if err := p.Join(ctx); err != nil {
				t.Errorf("Join after Terminate: %v", err)
			}
		}
		h.wait(t)
	})
	if err := p.Start(h); err != nil {
		t.Fatal(err)
	}
	return p, h
}

// SpawnWorker starts a worker goroutine, unless the host is manual.
func (h *fakeHost) SpawnWorker() (Owner, string, error) {
	h.mu.Lock()
	h.attempts++
	attempt := h.attempts
	if h.failSpawn != nil {
		if err := h.failSpawn(attempt); err != nil {
			h.mu.Unlock()
			return 0, "", err
		}
	}
	h.last++
	ctx, kill := context.WithCancel(bg)
	fw := &fakeWorker{id: h.last, ctx: ctx, kill: kill, funcs: make(map[uint64]string), shipped: make(map[uint64]int)}
	h.workers[fw.id] = fw
	h.mu.Unlock()
	name := fmt.Sprintf("PoolWorker-%d (pid %d)", fw.id, 1000+fw.id)
	switch {
	case h.exitEarly != nil && h.exitEarly(attempt):
		kill()
		h.pool.WorkerExited(fw.id, fmt.Sprintf("worker %s died: exit status 1", name))
	case h.manual:
	default:
		h.running.Add(1)
		go h.work(fw, h.dieAtStart != nil && h.dieAtStart(attempt))
		if h.waitArrival {
			eventually(h.t.(*testing.T), "the worker waits for its SpawnWorker", func() bool {
				h.pool.mu.Lock()
				defer h.pool.mu.Unlock()
				return h.pool.arriving.len() > 0
			})
		}
	}
	return fw.id, name, nil
}

// KillWorker records the kill and ends the worker's goroutine.
func (h *fakeHost) KillWorker(w Owner) {
	h.mu.Lock()
	h.kills = append(h.kills, w)
	fw := h.workers[w]
	h.mu.Unlock()
	if fw != nil {
		fw.kill()
	}
}

// work is the loop of a worker goroutine, as the worker process runs it; the host's report of
// its end is made here too.
func (h *fakeHost) work(fw *fakeWorker, dieAtStart bool) {
	defer h.running.Done()
	how := fmt.Sprintf("worker PoolWorker-%d (pid %d) exited", fw.id, 1000+fw.id)
	defer func() { h.pool.WorkerExited(fw.id, how) }()
	if dieAtStart {
		how = fmt.Sprintf("worker PoolWorker-%d (pid %d) died: exit status 1", fw.id, 1000+fw.id)
		return
	}
	for {
		task, err := h.pool.Next(fw.ctx, fw.id, WaitForever)
		if err != nil {
			h.mu.Lock()
			fw.exitErr = err
			h.mu.Unlock()
			if fw.ctx.Err() != nil {
				how = killedHow(fw.id)
			}
			return
		}
		h.mu.Lock()
		if task.Func != nil {
			fw.funcs[task.FuncID] = string(task.Func)
			fw.shipped[task.FuncID]++
		}
		fn, ok := fw.funcs[task.FuncID]
		h.mu.Unlock()
		if !ok {
			h.t.Errorf("worker %d got task %d of function %d, which it was never shipped", fw.id, task.ID, task.FuncID)
			return
		}
		data, errText, alive := h.run(fw, fn, task.Args)
		if !alive {
			how = killedHow(fw.id)
			return
		}
		h.mu.Lock()
		fw.tasks++
		h.mu.Unlock()
		if err := h.pool.Done(fw.id, task.ID, data, errText); err != nil && fw.ctx.Err() == nil {
			h.t.Errorf("Done(worker %d, task %d): %v", fw.id, task.ID, err)
		}
	}
}

// run runs function fn on args and reports whether the worker is still alive.
func (h *fakeHost) run(fw *fakeWorker, fn string, args []byte) (data []byte, errText string, alive bool) {
	switch fn {
	case "square":
		n, err := strconv.Atoi(string(args))
		if err != nil {
			return nil, err.Error(), true
		}
		return strconv.AppendInt(nil, int64(n)*int64(n), 10), "", true
	case "raise":
		return nil, "boom: " + string(args), true
	case "hang":
		<-fw.ctx.Done()
		return nil, "", false
	case "die":
		return nil, "", false
	case "gate":
		select {
		case <-h.gate(string(args)):
			return args, "", true
		case <-fw.ctx.Done():
			return nil, "", false
		}
	}
	return nil, "unknown function " + fn, true
}

// gate returns the channel of the named gate, which the test closes to open it.
func (h *fakeHost) gate(name string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.gates[name]
	if !ok {
		g = make(chan struct{})
		h.gates[name] = g
	}
	return g
}

// open opens the named gate.
func (h *fakeHost) open(name string) { close(h.gate(name)) }

// wait fails the test if a worker goroutine is still running after patience.
func (h *fakeHost) wait(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { h.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Error("worker goroutines still running")
	}
}

// spawned is the number of workers started.
func (h *fakeHost) spawned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.workers)
}

// submit submits tasks running function fn on each of args, in a new batch.
func submit(t *testing.T, p *Pool, fn string, args ...string) (batch uint64, tasks []uint64) {
	t.Helper()
	batch, _ = p.NewBatch()
	f := p.AddFunction([]byte(fn))
	for _, a := range args {
		id, err := p.Submit(batch, f, []byte(a))
		if err != nil {
			t.Fatalf("Submit(%s, %q): %v", fn, a, err)
		}
		tasks = append(tasks, id)
	}
	return batch, tasks
}

// numbers returns "0" to "n-1".
func numbers(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}

// mustResult waits for task and returns its result, failing the test after patience.
func mustResult(t *testing.T, p *Pool, task uint64) TaskResult {
	t.Helper()
	r, err := p.Result(bg, task, WaitUpTo(patience))
	if err != nil {
		t.Fatalf("Result(%d): %v", task, err)
	}
	return r
}

// checkSquares checks that tasks, which squared 0, 1, 2..., have the right results.
func checkSquares(t *testing.T, p *Pool, tasks []uint64) {
	t.Helper()
	for i, task := range tasks {
		r := mustResult(t, p, task)
		if want := strconv.Itoa(i * i); r.Err != "" || string(r.Data) != want {
			t.Fatalf("task %d (square of %d) = %+v, want %s", task, i, r, want)
		}
	}
}

// joined closes p and waits for its workers to exit.
func joined(t *testing.T, p *Pool) {
	t.Helper()
	p.Close()
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

func TestPoolConfig(t *testing.T) {
	for _, cfg := range []PoolConfig{{}, {Processes: 1, MaxTasksPerChild: -1}, {Processes: 1, TaskTimeout: -1}} {
		if _, err := NewPool(cfg); !errors.Is(err, ErrBadPoolConfig) {
			t.Errorf("NewPool(%+v) = %v, want ErrBadPoolConfig", cfg, err)
		}
	}
}

func TestPoolMap(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 4}, nil)
	batch, tasks := submit(t, p, "square", numbers(1000)...)
	checkSquares(t, p, tasks)
	if !p.Ready(tasks[0]) {
		t.Fatal("a finished task is not ready")
	}
	// Results stay readable, in any order, until Forget.
	if r := mustResult(t, p, tasks[3]); string(r.Data) != "9" {
		t.Fatalf("second read of task 3 = %+v", r)
	}
	p.Forget(batch)
	if _, err := p.Result(bg, tasks[0], DontWait); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Result after Forget = %v, want ErrNoTask", err)
	}
	if p.Ready(tasks[0]) {
		t.Fatal("a forgotten task is ready")
	}
	joined(t, p)
	if h.spawned() != 4 {
		t.Fatalf("%d workers started, want 4", h.spawned())
	}
}

func TestPoolErrorResult(t *testing.T) {
	p, _ := newFakePool(t, PoolConfig{Processes: 2}, nil)
	_, tasks := submit(t, p, "raise", "x")
	if r := mustResult(t, p, tasks[0]); r.Err != "boom: x" || r.Data != nil {
		t.Fatalf("Result of a raising task = %+v", r)
	}
}

func TestPoolNextDone(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 3}, nil)
	batch, tasks := submit(t, p, "gate", "a", "b", "c")
	byName := map[string]uint64{"a": tasks[0], "b": tasks[1], "c": tasks[2]}
	if _, _, err := p.NextDone(bg, batch, DontWait); !errors.Is(err, ErrEmpty) {
		t.Fatalf("NextDone with nothing finished = %v, want ErrEmpty", err)
	}
	for _, name := range []string{"b", "c", "a"} {
		h.open(name)
		task, r, err := p.NextDone(bg, batch, WaitUpTo(patience))
		if err != nil || task != byName[name] || string(r.Data) != name {
			t.Fatalf("NextDone = %d, %+v, %v; want task %d (%s)", task, r, err, byName[name], name)
		}
	}
	if _, _, err := p.NextDone(bg, batch, WaitForever); !errors.Is(err, ErrBatchDone) {
		t.Fatalf("NextDone after the last = %v, want ErrBatchDone", err)
	}
	if r := mustResult(t, p, byName["a"]); string(r.Data) != "a" {
		t.Fatalf("Result after NextDone = %+v", r)
	}
	// A batch can grow after it was drained.
	f := p.AddFunction([]byte("gate"))
	more, err := p.Submit(batch, f, []byte("d"))
	if err != nil {
		t.Fatal(err)
	}
	waiting := start(func() result {
		task, r, err := p.NextDone(bg, batch, WaitForever)
		return result{n: int(task), data: r.Data, err: err}
	})
	pending(t, waiting)
	h.open("d")
	if r := await(t, waiting); r.err != nil || uint64(r.n) != more || string(r.data) != "d" {
		t.Fatalf("NextDone = %+v, want task %d", r, more)
	}
	p.Forget(batch)
	if _, _, err := p.NextDone(bg, batch, DontWait); !errors.Is(err, ErrNoTask) {
		t.Fatalf("NextDone after Forget = %v, want ErrNoTask", err)
	}
}

func TestPoolFunctionShippedOnce(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 3}, nil)
	square, raise := p.AddFunction([]byte("square")), p.AddFunction([]byte("raise"))
	if again := p.AddFunction([]byte("square")); again != square {
		t.Fatalf("the same function got ids %d and %d", square, again)
	}
	for round := range 2 { // the second batch uses the functions the workers have
		batch, _ := p.NewBatch()
		var tasks []uint64
		for i := range 300 {
			f := square
			if i%2 == 1 {
				f = raise
			}
			id, err := p.Submit(batch, f, []byte(strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			tasks = append(tasks, id)
		}
		for i, task := range tasks {
			r := mustResult(t, p, task)
			if i%2 == 0 && string(r.Data) != strconv.Itoa(i*i) || i%2 == 1 && r.Err != "boom: "+strconv.Itoa(i) {
				t.Fatalf("round %d: task %d = %+v", round, i, r)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, fw := range h.workers {
		for f, n := range fw.shipped {
			if n != 1 {
				t.Errorf("function %d shipped %d times to worker %d", f, n, fw.id)
			}
		}
	}
}

func TestPoolManyTasks(t *testing.T) {
	const n = 100_000
	p, _ := newFakePool(t, PoolConfig{Processes: 4}, nil)
	batch, tasks := submit(t, p, "square", numbers(n)...)
	checkSquares(t, p, tasks)
	p.Forget(batch)
	p.mu.Lock()
	left, batches := len(p.tasks), len(p.batches)
	p.mu.Unlock()
	if left != 0 || batches != 0 {
		t.Fatalf("after Forget the pool holds %d tasks, %d batches", left, batches)
	}
	joined(t, p)
}

func TestPoolCloseJoin(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 3}, nil)
	if err := p.Join(bg); !errors.Is(err, ErrPoolRunning) {
		t.Fatalf("Join before Close = %v, want ErrPoolRunning", err)
	}
	batch, tasks := submit(t, p, "square", numbers(50)...)
	p.Close()
	if _, err := p.Submit(batch, p.AddFunction([]byte("square")), []byte("1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v, want ErrClosed", err)
	}
	if _, err := p.NewBatch(p.AddFunction([]byte("cube"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewBatch after Close = %v, want ErrClosed", err)
	}
	p.mu.Lock()
	cube := p.funcs[p.funcIDs["cube"]]
	p.mu.Unlock()
	if cube != nil && cube.holds != 0 {
		t.Fatal("NewBatch after Close kept the hold on the function it was given")
	}
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		t.Fatalf("Join: %v", err)
	}
	for _, task := range tasks {
		if !p.Ready(task) {
			t.Fatalf("task %d not finished after Join", task)
		}
	}
	checkSquares(t, p, tasks)
	h.wait(t)
	for _, fw := range h.workers {
		if !errors.Is(fw.exitErr, ErrClosed) {
			t.Errorf("worker %d ended with %v, want ErrClosed", fw.id, fw.exitErr)
		}
	}
	if err := p.Start(h); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
	p.Close() // twice is harmless
	if err := p.Join(bg); err != nil {
		t.Fatalf("second Join: %v", err)
	}
}

func TestPoolJoinWaits(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2}, nil)
	_, tasks := submit(t, p, "gate", "g", "g", "g")
	p.Close()
	joining := start(func() result { return result{err: p.Join(bg)} })
	pending(t, joining)
	ctx, cancel := cancelled(t)
	cancel()
	if err := p.Join(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Join with a cancelled context = %v", err)
	}
	h.open("g")
	if r := await(t, joining); r.err != nil {
		t.Fatalf("Join: %v", r.err)
	}
	for _, task := range tasks {
		if r := mustResult(t, p, task); r.Err != "" {
			t.Fatalf("task %d: %+v", task, r)
		}
	}
}

func TestPoolTerminate(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 2}, nil)
	_, running := submit(t, p, "gate", "never", "never")
	_, queued := submit(t, p, "square", "1", "2", "3")
	eventually(t, "both workers run a task", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.pending.len() == 3
	})
	p.Terminate()
	for _, task := range append(running, queued...) {
		if r := mustResult(t, p, task); r.Err != terminatedText {
			t.Fatalf("task %d after Terminate = %+v, want %q", task, r, terminatedText)
		}
	}
	if _, err := p.NewBatch(p.AddFunction([]byte("square"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewBatch after Terminate = %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithTimeout(bg, patience)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		t.Fatalf("Join after Terminate: %v", err)
	}
	h.mu.Lock()
	kills := len(h.kills)
	h.mu.Unlock()
	if kills != 2 || h.spawned() != 2 {
		t.Fatalf("%d kills, %d workers started; want 2 and 2", kills, h.spawned())
	}
	if err := p.Done(1, running[0], nil, ""); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Done after Terminate = %v, want ErrNoTask", err)
	}
	p.Terminate() // twice is harmless
}

func TestPoolCancel(t *testing.T) {
	p, h := newFakePool(t, PoolConfig{Processes: 1}, nil)
	batch, tasks := submit(t, p, "gate", "slow")
	ctx, cancel := cancelled(t)
	results := start(func() result { _, err := p.Result(ctx, tasks[0], WaitForever); return result{err: err} })
	nextDone := start(func() result { _, _, err := p.NextDone(ctx, batch, WaitForever); return result{err: err} })
	pending(t, results)
	pending(t, nextDone)
	cancel()
	for _, ch := range []<-chan result{results, nextDone} {
		if r := await(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled wait = %v", r.err)
		}
	}
	began := time.Now()
	if _, err := p.Result(bg, tasks[0], WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Result timed out = %v, want ErrEmpty", err)
	}
	atLeast(t, began, shortWait)
	if _, _, err := p.NextDone(bg, batch, WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("NextDone timed out = %v, want ErrEmpty", err)
	}
	if _, err := p.Result(bg, tasks[0], DontWait); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Result DontWait = %v, want ErrEmpty", err)
	}
	h.open("slow")
	if r := mustResult(t, p, tasks[0]); string(r.Data) != "slow" {
		t.Fatalf("Result = %+v", r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tasks[tasks[0]].waiters.len() != 0 || p.batches[batch].waiters.len() != 0 {
		t.Fatal("cancelled waits left waiters behind")
	}
}
