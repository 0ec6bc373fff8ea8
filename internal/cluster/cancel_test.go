package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// Cancel withdraws some tasks of a run: the worker running one stops it (its context ends,
// withdrawn), the one taken later is dropped unrun, their places in InFlight are free at once,
// and neither result comes; the run's other tasks go on.
func TestCancel(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	r := newRun(t, c, RunConfig{InFlight: 2})
	started := make(chan struct{}, 1)
	stopped := make(chan error, 1)
	var mu sync.Mutex
	var ran []string
	startWorker(t, c, WorkerConfig{Slots: 1, Run: func(ctx context.Context, tk Task) ([]byte, error) {
		mu.Lock()
		ran = append(ran, string(tk.Payload))
		mu.Unlock()
		if string(tk.Payload) == "long" {
			started <- struct{}{}
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return nil, ctx.Err()
		}
		return tk.Payload, nil
	}})
	long := submit(t, r, "long")
	<-started
	queued := submit(t, r, "queued") // the worker's one slot is busy: it waits on the server
	if cancelled, err := r.Cancel(long, queued, 99); err != nil || !slices.Equal(cancelled, []uint64{long, queued}) {
		t.Fatalf("Cancel: %v, %v; want %d and %d, not 99 (no such task)", cancelled, err, long, queued)
	}
	select {
	case cause := <-stopped:
		if cause != errWithdrawn {
			t.Errorf("the long task stopped with %v, want %v", cause, errWithdrawn)
		}
	case <-time.After(bound):
		t.Fatal("the cancelled task did not stop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	id, err := r.Submit(ctx, []byte("after")) // InFlight is 2: the cancelled tasks' places are free
	if err != nil {
		t.Fatal(err)
	}
	if res := next(t, r); res.Task != id || string(res.Data) != "after" {
		t.Errorf("the next result is %+v, want task %d's", res, id)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"long", "after"}; !slices.Equal(ran, want) {
		t.Errorf("the worker ran %q, want %q: the queued task dropped", ran, want)
	}
}
