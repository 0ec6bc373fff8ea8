package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// bound is how long a test waits for what must happen; generous, the machine is loaded.
const bound = 60 * time.Second

// workerProcessEnv and runProcessEnv name the variables that make the test binary a worker
// process or a run process: their value is the cluster's URL.
const (
	workerProcessEnv = "MPHOST_CLUSTER_TEST_WORKER"
	runProcessEnv    = "MPHOST_CLUSTER_TEST_RUN"
)

func TestMain(m *testing.M) {
	for env, process := range map[string]func(string) error{workerProcessEnv: workerProcess, runProcessEnv: runProcess} {
		if url := os.Getenv(env); url != "" {
			if err := process(url); err != nil {
				fmt.Fprintln(os.Stderr, env, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// runProcessTasks is how many tasks a run process submits.
const runProcessTasks = 3

// runProcess is a run that submits runProcessTasks tasks, says "run ID" on stdout, then waits
// for ever: the test kills it. Its heartbeat lives a second.
func runProcess(url string) error {
	c, err := Connect(url, ConnectOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	c.runTTL = time.Second // it makes the runs bucket
	r, err := NewRun(context.Background(), c, RunConfig{InFlight: runProcessTasks})
	if err != nil {
		return err
	}
	for i := range runProcessTasks {
		if _, err := r.Submit(context.Background(), fmt.Appendf(nil, "stale %d", i)); err != nil {
			return err
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		return err
	}
	fmt.Printf("run %s\n", r.ID())
	select {}
}

// workerProcess is a worker whose tasks say "took ID" on stdout, then never end: the test
// kills it.
func workerProcess(url string) error {
	c, err := Connect(url, ConnectOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	c.ackWait = time.Second // it makes the consumer: a lost task comes back after a second
	w, err := NewWorker(context.Background(), c, WorkerConfig{Slots: 1,
		Run: func(ctx context.Context, t Task) ([]byte, error) {
			fmt.Printf("took %d\n", t.ID)
			<-ctx.Done()
			return nil, ctx.Err()
		}})
	if err != nil {
		return err
	}
	return w.Work(context.Background())
}

// startProcess starts the test binary as the process env names (workerProcessEnv,
// runProcessEnv) on url and returns it with its stdout's lines; it is killed and reaped at the
// end of the test.
func startProcess(t *testing.T, env, url string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(out); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, lines
}

// startServer serves a cluster on a free port for the test.
func startServer(t testing.TB) *Server {
	t.Helper()
	s, err := Serve(ServerConfig{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, url string) *Conn {
	t.Helper()
	c, err := Connect(url, ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// startWorker runs a worker on c until the end of the test, when its context ends (tasks in
// hand are handed back) and Work must return.
func startWorker(t testing.TB, c *Conn, cfg WorkerConfig) *Worker {
	t.Helper()
	w, err := NewWorker(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Work(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Work: %v", err)
			}
		case <-time.After(bound):
			t.Errorf("Work did not return within %v of the end of its context", bound)
		}
	})
	return w
}

func newRun(t testing.TB, c *Conn, cfg RunConfig) *Run {
	t.Helper()
	r, err := NewRun(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func submit(t testing.TB, r *Run, payload string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	id, err := r.Submit(ctx, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func next(t testing.TB, r *Run) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	res, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return res
}

// echo is a worker's Run that returns "NAME:PAYLOAD".
func echo(name string) func(context.Context, Task) ([]byte, error) {
	return func(_ context.Context, t Task) ([]byte, error) {
		return []byte(name + ":" + string(t.Payload)), nil
	}
}

// waitFor waits for a value on ch, or fails the test after bound.
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("no %s within %v", what, bound)
		panic("unreachable")
	}
}

// runMessages is how many messages of run's tasks the tasks stream holds.
func runMessages(t testing.TB, c *Conn, run string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	s, err := c.js.Stream(ctx, tasksStream(c.version))
	if err != nil {
		t.Fatal(err)
	}
	subj := c.subject(kindTask, run)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subj]
}
