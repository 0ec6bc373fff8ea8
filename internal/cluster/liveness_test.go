package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The tasks of a run killed with -9 (no Close, no Withdraw) are not run: once its heartbeat
// has expired, a worker drops them, deletes those that wait, and says so; it runs a live run's
// task after them.
func TestDeadRunsTasksDropped(t *testing.T) {
	s := startServer(t)
	cmd, lines := startProcess(t, runProcessEnv, s.URL())
	run, ok := strings.CutPrefix(waitFor(t, lines, "the run's id"), "run ")
	if !ok {
		t.Fatal("the run process did not say its id")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	c := connect(t, s.URL())
	if n := runMessages(t, c, run); n != runProcessTasks {
		t.Fatalf("%d tasks of the dead run wait, want %d", n, runProcessTasks)
	}
	waitHeartbeatGone(t, c, run)

	logs := make(chan string, 16)
	ran := make(chan Task, 16)
	startWorker(t, c, WorkerConfig{Slots: 1,
		Logf: func(format string, args ...any) { logs <- fmt.Sprintf(format, args...) },
		Run: func(_ context.Context, tk Task) ([]byte, error) {
			ran <- tk
			return tk.Payload, nil
		}})
	live := newRun(t, connect(t, s.URL()), RunConfig{InFlight: 1})
	submit(t, live, "live")
	if res := next(t, live); string(res.Data) != "live" {
		t.Errorf("result %+v", res)
	}
	for len(ran) > 0 {
		tk := <-ran
		if tk.Run != live.ID() {
			t.Errorf("the worker ran %q of the dead run", tk.Payload)
		}
	}
	if want := fmt.Sprintf("run %s is gone", run); !strings.HasPrefix(waitFor(t, logs, "log line"), want) {
		t.Errorf("the worker did not log %q", want)
	}
	if n := runMessages(t, c, run); n != 0 {
		t.Errorf("%d tasks of the dead run still wait", n)
	}
}

// A live run's heartbeat outlives its TTL: a worker runs its tasks long after; Close deletes it.
func TestLiveRunHeartbeat(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	c.runTTL = time.Second
	r := newRun(t, c, RunConfig{InFlight: 1})
	// Three TTLs go by, seen on the bucket's own clock: its renewals' revisions.
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	first, err := r.alive.Get(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	for {
		e, err := r.alive.Get(ctx, r.ID())
		if err != nil {
			t.Fatalf("the live run's heartbeat: %v", err)
		}
		if e.Created().Sub(first.Created()) > 3*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no renewal of the heartbeat")
		case <-time.After(100 * time.Millisecond):
		}
	}
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: echo("w")})
	submit(t, r, "late")
	if res := next(t, r); string(res.Data) != "w:late" {
		t.Errorf("result %+v", res)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.alive.Get(ctx, r.ID()); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the heartbeat after Close: %v", err)
	}
}

// waitHeartbeatGone waits until the runs bucket has forgotten run.
func waitHeartbeatGone(t *testing.T, c *Conn, run string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	kv, _, err := c.runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := kv.Get(ctx, run); errors.Is(err, jetstream.ErrKeyNotFound) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the heartbeat of run %s is still there after %v", run, bound)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
