package cluster

import (
	"context"
	"testing"
)

// A worker whose slots are all busy holds no task: a task submitted meanwhile goes to the
// next worker free, on its first delivery, not once the claim of a task held unstarted ran
// out.
func TestBusyWorkerHoldsNoTask(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	started := make(chan Task, 4)
	release := make(chan struct{})
	run := func(_ context.Context, tk Task) ([]byte, error) {
		started <- tk
		<-release
		return tk.Payload, nil
	}
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: run})
	r := newRun(t, c, RunConfig{InFlight: 2})
	submit(t, r, "first")
	if tk := waitFor(t, started, "first task started"); string(tk.Payload) != "first" {
		t.Fatalf("started %q", tk.Payload)
	}
	submit(t, r, "second")
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: run})
	tk := waitFor(t, started, "second task started")
	if string(tk.Payload) != "second" || tk.Delivery != 1 {
		t.Errorf("the second worker started %q on delivery %d, want \"second\" on delivery 1", tk.Payload, tk.Delivery)
	}
	close(release)
	for range 2 {
		if res := next(t, r); res.Err != "" {
			t.Errorf("result %+v", res)
		}
	}
}
