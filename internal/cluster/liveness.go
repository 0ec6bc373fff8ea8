package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A run keeps an entry of its own in the runs bucket of its version while it lives: NewRun
// puts it, the run renews it three times in each RunTTL, Close deletes it, and the bucket
// forgets it RunTTL after its last renewal when the run died without Close. A worker about to
// run a task, or running one, looks the entry up (remembering a live answer for a third of the
// TTL); when it is gone, the worker drops the run's tasks in hand, deletes those waiting, and
// takes none of the run's again.

// runsBucket is the name of the bucket of the runs' heartbeats of version v.
func runsBucket(v int) string { return fmt.Sprintf("MPHOST_RUNS_V%d", v) }

// lookupTimeout bounds a worker's look at a run's entry; a look that fails counts the run as
// alive, so that a slow server never costs a live run its tasks.
const lookupTimeout = 5 * time.Second

// runs returns the runs bucket of c's version, making it with c.runTTL if need be, and the
// TTL it has. A bucket made already is never changed.
func (c *Conn) runs(ctx context.Context) (jetstream.KeyValue, time.Duration, error) {
	name := runsBucket(c.version)
	kv, err := c.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = c.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "mphost runs that live, one key per run, renewed while it lives",
			TTL:         c.runTTL,
			Storage:     jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // made by another at the same time
			kv, err = c.js.KeyValue(ctx, name)
		}
	}
	var status jetstream.KeyValueStatus
	if err == nil {
		status, err = kv.Status(ctx)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: %s: cannot make the runs bucket %s: %w", c.where, name, err)
	}
	return kv, status.TTL(), nil
}

// heartbeat renews the run's entry; the errors of a renewal are left to the next one.
func (r *Run) heartbeat() error {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	_, err := r.alive.Put(ctx, r.cfg.ID, nil)
	return err
}

// runGone reports whether the run's tasks must not be run: it was withdrawn, or its entry in
// the runs bucket is gone (then the worker drops its tasks as for a withdrawal, and deletes
// those that wait).
func (w *Worker) runGone(run string) bool {
	now := time.Now()
	w.mu.Lock()
	_, withdrawn := w.withdrawn[run]
	seen, ok := w.alive[run]
	w.mu.Unlock()
	if withdrawn {
		return true
	}
	if ok && now.Sub(seen) < w.runTTL/3 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	_, err := w.runs.Get(ctx, run)
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		if err == nil {
			w.mu.Lock()
			w.alive[run] = now
			w.mu.Unlock()
		}
		return false
	}
	w.cfg.Logf("run %s is gone (no heartbeat for %v): its tasks are dropped", run, w.runTTL)
	w.forget(run)
	if err := w.tasks.Purge(ctx, jetstream.WithPurgeSubject(w.c.subject(kindTask, run))); err != nil {
		w.cfg.Logf("run %s: cannot delete its tasks: %v", run, err)
	}
	return true
}
