package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tasks go to two workers and come back, each result once; a second result for a task (as
// when it ran twice) is dropped.
func TestRoundTripTwoWorkers(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	// Each worker's first task waits until both have one, so both are seen to work.
	var first sync.Map
	both := make(chan struct{})
	var once sync.Once
	worker := func(name string) func(context.Context, Task) ([]byte, error) {
		return func(ctx context.Context, tk Task) ([]byte, error) {
			if _, loaded := first.LoadOrStore(name, true); !loaded {
				n := 0
				first.Range(func(any, any) bool { n++; return true })
				if n == 2 {
					once.Do(func() { close(both) })
				}
				select {
				case <-both:
				case <-time.After(bound):
					return nil, fmt.Errorf("the other worker took no task within %v", bound)
				}
			}
			return []byte(name + ":" + string(tk.Payload)), nil
		}
	}
	r := newRun(t, c, RunConfig{InFlight: 8})
	startWorker(t, connect(t, s.URL()), WorkerConfig{Name: "a", Slots: 1, Run: worker("a")})
	startWorker(t, connect(t, s.URL()), WorkerConfig{Name: "b", Slots: 1, Run: worker("b")})
	const n = 100
	go func() {
		for i := 1; i <= n; i++ {
			if _, err := r.Submit(context.Background(), fmt.Appendf(nil, "item%d", i)); err != nil {
				t.Errorf("Submit: %v", err)
				return
			}
		}
	}()
	seen := map[uint64]bool{}
	byWorker := map[string]int{}
	for range n {
		res := next(t, r)
		name, payload, _ := strings.Cut(string(res.Data), ":")
		if res.Err != "" || seen[res.Task] || payload != fmt.Sprintf("item%d", res.Task) || name != res.Worker {
			t.Fatalf("result %+v (data %q): want one for each task, its payload echoed", res, res.Data)
		}
		seen[res.Task] = true
		byWorker[res.Worker]++
	}
	if byWorker["a"] == 0 || byWorker["b"] == 0 {
		t.Errorf("results by worker %v: want both", byWorker)
	}

	// A second result for task 1 arrives before the result of a new task, and is dropped.
	dup := appendResult(nil, c.version, Result{Task: 1, Data: []byte("again"), Worker: "x"})
	if _, err := c.nc.Request(c.subject(kindResult, r.ID()), dup, bound); err != nil {
		t.Fatal(err)
	}
	id := submit(t, r, "last")
	if res := next(t, r); res.Task != id || !strings.HasSuffix(string(res.Data), ":last") {
		t.Errorf("after a duplicate result: %+v, want task %d's", res, id)
	}
}

// Submit waits while InFlight tasks are out, and goes on when Next returns a result.
func TestSubmitBoundedInFlight(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 2})
	submit(t, r, "1")
	submit(t, r, "2")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Submit(ctx, []byte("3")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a third Submit with 2 out: %v, want it to wait", err)
	}
	startWorker(t, c, WorkerConfig{Slots: 2, Run: echo("w")})
	next(t, r)
	submit(t, r, "3")
}

// A worker process killed with -9 while it runs a task costs the ack wait: the task runs
// again on another worker, and its result comes once.
func TestWorkerKilledMidTask(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 4})
	cmd, lines := startProcess(t, workerProcessEnv, s.URL())
	id := submit(t, r, "survive")
	if line := waitFor(t, lines, "task taken by the worker process"); line != fmt.Sprintf("took %d", id) {
		t.Fatalf("worker process said %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("worker process ended with %v, want killed", err)
	}
	deliveries := make(chan int, 4)
	startWorker(t, connect(t, s.URL()), WorkerConfig{Name: "heir", Slots: 1,
		Run: func(_ context.Context, tk Task) ([]byte, error) {
			deliveries <- tk.Delivery
			return tk.Payload, nil
		}})
	res := next(t, r)
	if res.Task != id || string(res.Data) != "survive" || res.Worker != "heir" || res.Err != "" {
		t.Errorf("result %+v, want task %d from heir", res, id)
	}
	if d := <-deliveries; d != 2 {
		t.Errorf("the heir got delivery %d, want 2", d)
	}
	// No second result: after Withdraw, Next has nothing more to give.
	if err := r.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res, err := r.Next(context.Background()); !errors.Is(err, ErrWithdrawn) {
		t.Errorf("Next after the one result: %+v, %v", res, err)
	}
}

// A task whose process dies every time is handed back at once each time, and fails after
// MaxDeliveries with an error saying so.
func TestTaskKillingEveryWorker(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	var mu sync.Mutex
	var runs []int
	c.ackWait = time.Minute // the worker makes the consumer
	startWorker(t, c, WorkerConfig{Slots: 1, MaxDeliveries: 3,
		Run: func(_ context.Context, tk Task) ([]byte, error) {
			mu.Lock()
			runs = append(runs, tk.Delivery)
			mu.Unlock()
			return nil, fmt.Errorf("PoolWorker-1 (pid 1) was killed by signal 9: %w", ErrProcessDied)
		}})
	id := submit(t, r, "fatal")
	res := next(t, r) // AckWait is a minute: each hand-back must be at once
	if res.Task != id || !strings.Contains(res.Err, fmt.Sprintf("task %d was handed to a worker 3 times and its worker was lost each time; it is not run again", id)) {
		t.Errorf("result %+v, want the bound's error", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(runs) != "[1 2 3]" {
		t.Errorf("deliveries run %v, want [1 2 3]", runs)
	}
}

// A task's error is its result, with the data; it is not run again.
func TestTaskError(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	startWorker(t, c, WorkerConfig{Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		return []byte("partial"), fmt.Errorf("job.lua:3: bad item (delivery %d)", tk.Delivery)
	}})
	submit(t, r, "x")
	if res := next(t, r); res.Err != "job.lua:3: bad item (delivery 1)" || string(res.Data) != "partial" {
		t.Errorf("result %+v", res)
	}
}

// A result larger than the server takes fails its task at once, saying so, rather than
// handing it back to be run again.
func TestResultTooLarge(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	startWorker(t, c, WorkerConfig{Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		if tk.Delivery > 1 {
			return []byte("delivered again"), nil
		}
		return make([]byte, maxPayload), nil
	}})
	submit(t, r, "x")
	res := next(t, r)
	if want := fmt.Sprintf("more than the %d the cluster's server takes in a message", maxPayload); len(res.Data) != 0 || !strings.HasPrefix(res.Err, "cluster: the task's result is ") || !strings.HasSuffix(res.Err, want) {
		t.Errorf("result %q %q, want the error alone, ending %q", res.Data, res.Err, want)
	}
}

// Withdraw deletes the tasks no worker took, and cancels those a worker runs; a worker started
// after runs none of them.
func TestWithdraw(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 8})
	for i := range 5 {
		submit(t, r, fmt.Sprint(i))
	}
	if err := r.Flush(context.Background()); err != nil { // Submit publishes without waiting
		t.Fatal(err)
	}
	if n := runMessages(t, c, r.ID()); n != 5 {
		t.Fatalf("%d tasks on the stream, want 5", n)
	}
	if err := r.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := runMessages(t, c, r.ID()); n != 0 {
		t.Errorf("%d tasks on the stream after Withdraw", n)
	}
	if _, err := r.Submit(context.Background(), nil); !errors.Is(err, ErrWithdrawn) {
		t.Errorf("Submit after Withdraw: %v", err)
	}

	// A task in hand: its Run's context ends, and no result comes.
	other := newRun(t, c, RunConfig{InFlight: 8})
	started, cancelled := make(chan Task, 8), make(chan error, 8)
	startWorker(t, c, WorkerConfig{Slots: 2, Run: func(ctx context.Context, tk Task) ([]byte, error) {
		started <- tk
		if string(tk.Payload) != "block" {
			return tk.Payload, nil
		}
		select {
		case <-ctx.Done():
			cancelled <- context.Cause(ctx)
			return nil, ctx.Err()
		case <-time.After(bound):
			return nil, errors.New("not cancelled")
		}
	}})
	submit(t, other, "block")
	if tk := waitFor(t, started, "task started"); tk.Run != other.ID() {
		t.Fatalf("the worker ran a task of run %s, want only %s's", tk.Run, other.ID())
	}
	if err := other.Withdraw(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cause := waitFor(t, cancelled, "cancellation"); !errors.Is(cause, errWithdrawn) {
		t.Errorf("the task's context ended with %v", cause)
	}
	// The worker is free and ran nothing of the first run: a third run's task is the next.
	third := newRun(t, c, RunConfig{InFlight: 1})
	submit(t, third, "after")
	if tk := waitFor(t, started, "task started"); tk.Run != third.ID() {
		t.Errorf("the worker ran a task of run %s, want %s's", tk.Run, third.ID())
	}
	if res := next(t, third); string(res.Data) != "after" {
		t.Errorf("result %+v", res)
	}
}

// Two runs on one cluster get their own results only.
func TestRunsDoNotMix(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 2, Run: echo("w")})
	runs := []*Run{newRun(t, c, RunConfig{InFlight: 4}), newRun(t, connect(t, s.URL()), RunConfig{InFlight: 4})}
	const n = 40
	var wg sync.WaitGroup
	for k, r := range runs {
		wg.Go(func() {
			for i := range n {
				if _, err := r.Submit(context.Background(), fmt.Appendf(nil, "run%d-%d", k, i+1)); err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
			}
		})
		wg.Go(func() {
			for range n {
				ctx, cancel := context.WithTimeout(context.Background(), bound)
				res, err := r.Next(ctx)
				cancel()
				if err != nil {
					t.Errorf("run %d: Next: %v", k, err)
					return
				}
				if want := fmt.Sprintf("w:run%d-%d", k, res.Task); string(res.Data) != want {
					t.Errorf("run %d: result %q, want %q", k, res.Data, want)
				}
			}
		})
	}
	wg.Wait()
}

// When the worker's context ends, its task in hand is handed back at once: another worker
// runs it long before the ack wait.
func TestWorkerHandsBackOnCancel(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	took := make(chan struct{})
	long := connect(t, s.URL())
	long.ackWait = 10 * bound
	first, err := NewWorker(context.Background(), long, WorkerConfig{Slots: 1,
		Run: func(ctx context.Context, tk Task) ([]byte, error) {
			close(took)
			<-ctx.Done()
			return nil, ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	worked := make(chan error, 1)
	go func() { worked <- first.Work(ctx) }()
	submit(t, r, "x")
	waitFor(t, took, "task taken by the first worker")
	cancel()
	waitFor(t, worked, "end of Work")
	startWorker(t, c, WorkerConfig{Slots: 1, Run: echo("second")})
	if res := next(t, r); string(res.Data) != "second:x" {
		t.Errorf("result %+v", res)
	}
}

// Stop lets the task in hand finish, and Work returns.
func TestWorkerStopFinishes(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	release, started := make(chan struct{}), make(chan struct{})
	w, err := NewWorker(context.Background(), c, WorkerConfig{Slots: 1, Name: "w",
		Run: func(ctx context.Context, tk Task) ([]byte, error) {
			close(started)
			<-release
			return []byte("done"), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	worked := make(chan error, 1)
	go func() { worked <- w.Work(context.Background()) }()
	submit(t, r, "x")
	waitFor(t, started, "task started")
	w.Stop()
	close(release)
	waitFor(t, worked, "end of Work")
	if res := next(t, r); string(res.Data) != "done" || res.Worker != "w" {
		t.Errorf("result %+v", res)
	}
}

// A worker of another protocol version takes no task of this one and logs so; the run says
// that no worker took its tasks; a worker of its version then runs them.
func TestProtocolVersionMismatch(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	idle := make(chan int, 4)
	r := newRun(t, c, RunConfig{InFlight: 4, IdleAfter: 500 * time.Millisecond,
		Idle: func(waiting int, waited time.Duration) { idle <- waiting }})
	submit(t, r, "a")
	submit(t, r, "b")

	future := connect(t, s.URL())
	future.version = ProtocolVersion + 1
	logs := make(chan string, 16)
	ran := make(chan Task, 4)
	startWorker(t, future, WorkerConfig{Slots: 2, versionCheck: 100 * time.Millisecond,
		Logf: func(format string, args ...any) { logs <- fmt.Sprintf(format, args...) },
		Run: func(_ context.Context, tk Task) ([]byte, error) {
			ran <- tk
			return nil, nil
		}})
	want := fmt.Sprintf("2 tasks of protocol version %d wait on %s; this worker speaks version %d and does not take them",
		ProtocolVersion, c.Where(), ProtocolVersion+1)
	if line := waitFor(t, logs, "log line"); line != want {
		t.Errorf("log %q, want %q", line, want)
	}
	if n := waitFor(t, idle, "idle notice"); n != 2 {
		t.Errorf("idle notice of %d tasks, want 2", n)
	}
	select {
	case tk := <-ran:
		t.Fatalf("the worker of another version ran %+v", tk)
	default:
	}
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 2, Run: echo("now")})
	for range 2 {
		if res := next(t, r); !strings.HasPrefix(string(res.Data), "now:") {
			t.Errorf("result %+v", res)
		}
	}
}

// A task that runs longer than the ack wait keeps its claim: it is not delivered again to
// the idle worker beside it.
func TestLongTaskKeepsClaim(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 1})
	const ackWait = time.Second
	deliveries := make(chan int, 8)
	long := func(_ context.Context, tk Task) ([]byte, error) {
		deliveries <- tk.Delivery
		<-time.After(4 * ackWait) // the task's own work: longer than the ack wait
		return []byte("long"), nil
	}
	c.ackWait = ackWait
	startWorker(t, c, WorkerConfig{Slots: 1, Run: long})
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: long})
	submit(t, r, "x")
	if res := next(t, r); string(res.Data) != "long" {
		t.Errorf("result %+v", res)
	}
	var got []int
	for len(deliveries) > 0 {
		got = append(got, <-deliveries)
	}
	if fmt.Sprint(got) != "[1]" {
		t.Errorf("deliveries %v, want [1]", got)
	}
}

// The ack wait is the consumer's, made once: a worker whose connection would make it another
// does not change it, and renews its claims at the consumer's rate.
func TestAckWaitIsTheConsumers(t *testing.T) {
	s := startServer(t)
	first := connect(t, s.URL())
	first.ackWait = time.Second
	startWorker(t, first, WorkerConfig{Slots: 1, Run: echo("first")})
	later := connect(t, s.URL())
	later.ackWait = time.Hour
	w := startWorker(t, later, WorkerConfig{Slots: 1, Run: echo("later")})
	if w.ackWait != time.Second {
		t.Errorf("the later worker renews claims for an ack wait of %v, want the consumer's 1s", w.ackWait)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cons, err := first.js.Consumer(ctx, tasksStream(first.version), workersConsumer)
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.CachedInfo().Config.AckWait; got != time.Second {
		t.Errorf("the consumer's ack wait is %v after a later worker started, want 1s", got)
	}
}

// The idle notice says that no worker takes a run's tasks, never that of a run whose tasks are
// taken: a task that runs long is announced, and the results of short ones (which are not)
// count as takings.
func TestIdleNoticeOnlyWhenNoneTaken(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	idle := make(chan int, 16)
	const idleAfter = 1500 * time.Millisecond // far above a task's overhead, on a loaded machine
	r := newRun(t, c, RunConfig{InFlight: 3, IdleAfter: idleAfter,
		Idle: func(waiting int, _ time.Duration) { idle <- waiting }})
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		d, err := time.ParseDuration(string(tk.Payload))
		time.Sleep(d) // the task's work
		return nil, err
	}})
	// One long task, alone: announced long before idleAfter.
	submit(t, r, (2 * idleAfter).String())
	next(t, r)
	// Short tasks (shorter than announceAfter), two waiting behind the one that runs, for longer
	// than idleAfter in all, their results coming far more often.
	const short = announceAfter / 2
	const shorts = int(2 * idleAfter / short)
	go func() {
		for range shorts {
			if _, err := r.Submit(context.Background(), []byte(short.String())); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range shorts {
		if res := next(t, r); res.Err != "" {
			t.Fatal(res.Err)
		}
	}
	select {
	case n := <-idle:
		t.Errorf("an idle notice of %d tasks while the worker took them", n)
	default:
	}
}
