package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestServerRestart restarts the server while a run has tasks out: one in a worker's hands,
// the others waiting on the server. Every task still gets one result, and the run and the
// worker go on working on the new server.
func TestServerRestart(t *testing.T) {
	store := t.TempDir()
	s, err := Serve(ServerConfig{Listen: "127.0.0.1:-1", StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	restart := func() {
		s.Shutdown()
		if s, err = Serve(ServerConfig{Listen: u.Host, StoreDir: store, Token: u.User.Username()}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Shutdown() })

	taken := make(chan uint64, 16)
	gate := make(chan struct{})
	startWorker(t, connect(t, s.URL()), WorkerConfig{Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		taken <- tk.ID
		<-gate
		return tk.Payload, nil
	}})
	r := newRun(t, connect(t, s.URL()), RunConfig{InFlight: 4})
	const before = 4
	for i := range before {
		submit(t, r, fmt.Sprint("task ", i+1))
	}
	waitFor(t, taken, "task taken before the restart")
	restart()
	close(gate)

	got := map[uint64]string{}
	for len(got) < before {
		res := next(t, r)
		if res.Err != "" {
			t.Fatalf("task %d: %s", res.Task, res.Err)
		}
		if _, twice := got[res.Task]; twice {
			t.Fatalf("task %d has two results", res.Task)
		}
		got[res.Task] = string(res.Data)
	}
	for id := uint64(1); id <= before; id++ {
		if want := fmt.Sprint("task ", id); got[id] != want {
			t.Errorf("task %d: result %q, want %q", id, got[id], want)
		}
	}
	// The run and the worker work on the new server.
	id := submit(t, r, "after")
	if res := next(t, r); res.Task != id || string(res.Data) != "after" || res.Err != "" {
		t.Errorf("a task after the restart: %+v", res)
	}
}

// A task published again does not fail when an earlier publish of it, to the server that went
// away, times out; a failure of its latest publish is its result. A publish that a
// disconnection failed is no result either: the reconnection publishes the task again.
func TestOldPublishFailureIsNotAResult(t *testing.T) {
	s := startServer(t)
	r := newRun(t, connect(t, s.URL()), RunConfig{InFlight: 2})
	id := submit(t, r, "x")
	r.mu.Lock()
	msg := r.out[id].msg
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	r.resubmit(ctx, true) // as a recovery on a new server does: its second publish
	failed := func(sent string) *nats.Msg {
		return &nats.Msg{Data: msg, Header: nats.Header{sentHeader: []string{sent}}}
	}
	r.onSubmitFailed(nil, failed("1"), errors.New("timed out"))
	r.onSubmitFailed(nil, failed("2"), nats.ErrDisconnected)
	r.mu.Lock()
	unsent := r.out[id].unsent
	r.mu.Unlock()
	if !unsent {
		t.Errorf("a publish failed by a disconnection did not leave its task to publish again")
	}
	r.resubmit(ctx, false) // as a reconnection to the same server does: its third publish
	short, stop := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer stop()
	if res, err := r.Next(short); err == nil {
		t.Fatalf("a publish failure that is not the task's last, or a disconnection, gave a result: %+v", res)
	}
	r.onSubmitFailed(nil, failed("3"), errors.New("timed out"))
	if res := next(t, r); res.Task != id || !strings.Contains(res.Err, "timed out") {
		t.Errorf("the failure of the latest publish: result %+v, want task %d failed", res, id)
	}
}
