package cluster

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// A run withdraws some of its tasks (Run.Cancel) with a message to every worker that names
// them: a worker stops those it runs, and drops those it takes later, which the run does not
// delete from the stream (it knows their ids, not their places there). A worker that joins
// after the message runs such a task all the same; the run drops its result.

// taskKey names a task on the cluster.
type taskKey struct {
	run string
	id  uint64
}

// Cancel withdraws tasks ids of the run, submitted and their result not yet come, and returns
// those it withdrew: their results never come from Next, and their places in InFlight are
// free at once. The workers that run one stop it (its Run's context ends) and the others drop
// it when they take it. The error says that the workers could not be told.
func (r *Run) Cancel(ids ...uint64) (cancelled []uint64, err error) {
	var named []byte
	r.mu.Lock()
	for _, id := range ids {
		if r.drop(id) {
			r.release()
			cancelled = append(cancelled, id)
			named = binary.AppendUvarint(named, id)
		}
	}
	withdrawn := r.withdrawn
	r.mu.Unlock()
	if len(named) == 0 || withdrawn {
		return cancelled, nil
	}
	if err := r.c.nc.Publish(r.c.subject(kindCancelled, r.cfg.ID), named); err != nil {
		return cancelled, fmt.Errorf("cluster: %s: run %s: cannot tell the workers: %w", r.c.where, r.cfg.ID, err)
	}
	return cancelled, nil
}

// onCancelled stops the tasks in hand that a run cancelled, and remembers them all, so that
// the worker drops those it takes later.
func (w *Worker) onCancelled(msg *nats.Msg) {
	run := msg.Subject[strings.LastIndexByte(msg.Subject, '.')+1:]
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	forgetBefore(w.cancelled, now.Add(-withdrawnKept))
	for data := msg.Data; len(data) > 0; {
		id, n := binary.Uvarint(data)
		if n <= 0 {
			break
		}
		data = data[n:]
		w.cancelled[taskKey{run, id}] = now
	}
	for h := range w.inHand {
		if _, ok := w.cancelled[taskKey{h.run, h.id}]; ok {
			h.cancel(errWithdrawn)
		}
	}
}

// isCancelled reports whether the run of t cancelled it, or withdrew all its tasks.
func (w *Worker) isCancelled(t Task) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, cancelled := w.cancelled[taskKey{t.Run, t.ID}]
	_, withdrawn := w.withdrawn[t.Run]
	return cancelled || withdrawn
}
