package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The tasks stream keeps its messages in the server's memory (see Conn.tasks): a server that
// restarts has lost them, and the workers' consumer with them. A connection that comes back
// tells its runs and workers, which put back what the server may have lost. A worker makes the
// stream and the workers' consumer again and asks for tasks at once (the server forgot its
// requests). A run that came back to another server (another server id: a restarted server,
// or another of a cluster's) publishes again each task it has out; to the same server, only
// those whose publish the disconnection failed. A task published again carries the id it was
// first published with (Nats-Msg-Id), so a server that still holds it drops the copy; one that
// ran twice gives two results, and the run counts one.

// recoverTimeout bounds how long a run or a worker tries to put back what a restarted server
// lost; JetStream may take a moment to be ready after a restart.
const recoverTimeout = 30 * time.Second

// onReconnect registers f to be called, on a goroutine of its own, each time the connection
// comes back, with newServer set when it is to a server other than the one it left; the
// function it returns unregisters f.
func (c *Conn) onReconnect(f func(newServer bool)) (unregister func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastHook++
	id := c.lastHook
	c.hooks[id] = f
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.hooks, id)
	}
}

// reconnected is the connection's reconnect handler.
func (c *Conn) reconnected(nc *nats.Conn) {
	c.reconnects.Add(1)
	server := nc.ConnectedServerId()
	c.mu.Lock()
	defer c.mu.Unlock()
	newServer := server != c.server
	c.server = server
	for _, f := range c.hooks {
		go f(newServer)
	}
}

// askTimeout bounds a request to a run (askRun): a chunk, a result, an output message.
const askTimeout = 10 * time.Second

// askRun sends data to run on its subject of kind as a request and returns the reply. A run
// that does not answer while its heartbeat lives may be connecting again (to a restarted
// server, when the connection came back before the run's): the request is sent again until
// it answers, within c.askWait.
func (c *Conn) askRun(kind, run string, data []byte) (msg *nats.Msg, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.askWait)
	defer cancel()
	_ = c.retry(ctx, func(ctx context.Context) error {
		msg, err = c.nc.RequestWithContext(ctx, c.subject(kind, run), data)
		if errors.Is(err, nats.ErrNoResponders) && c.runAlive(run) {
			return err // ask again
		}
		return nil // answered, or an error to give back
	})
	return msg, err
}

// runAlive reports whether run's heartbeat entry is there, or cannot be looked at.
func (c *Conn) runAlive(run string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, runsBucket(c.version))
	if err == nil {
		_, err = kv.Get(ctx, run)
	}
	return !errors.Is(err, jetstream.ErrKeyNotFound)
}

// retry calls step until it succeeds, ctx ends or the connection is closed, waiting longer
// between tries, and returns its last error.
func (c *Conn) retry(ctx context.Context, step func(context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		err := step(ctx)
		if err == nil || c.nc.IsClosed() {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// recover asks for tasks again once the connection came back, since the server forgot the
// requests it had open; on a new server, it first puts back what the server may lack: the
// stream, the workers' consumer and the runs bucket.
func (w *Worker) recover(p *puller, newServer bool) {
	defer p.forgetAll()
	if !newServer {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	err := w.c.retry(ctx, func(ctx context.Context) error {
		if _, err := w.c.tasks(ctx); err != nil {
			return err
		}
		if _, err := w.c.workers(ctx); err != nil {
			return err
		}
		_, _, err := w.c.runs(ctx)
		return err
	})
	if err != nil {
		w.cfg.Logf("the server at %s changed, and the tasks stream cannot be made again: %v", w.c.where, err)
	}
}

// recover puts back what a server may lack for the run once its connection came back: on a
// new server, the stream and the run's heartbeat, and then it publishes again every task it
// has out; on the same server, the tasks whose publish the disconnection failed.
func (r *Run) recover(newServer bool) {
	r.recovery.Lock()
	defer r.recovery.Unlock()
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	if newServer {
		err := r.c.retry(ctx, func(ctx context.Context) error {
			if _, err := r.c.tasks(ctx); err != nil {
				return err
			}
			if _, _, err := r.c.runs(ctx); err != nil {
				return err
			}
			return r.heartbeat()
		})
		if err != nil {
			r.failOut(fmt.Sprintf("cluster: the server at %s changed and lost the run's tasks, which cannot be put back: %v", r.c.where, err))
			return
		}
	}
	r.resubmit(ctx, newServer)
}

// resubmit publishes again the tasks out (all, or those a disconnection left unsent), in the
// order they were first submitted, as not taken by any worker.
func (r *Run) resubmit(ctx context.Context, all bool) {
	r.submitting.RLock()
	defer r.submitting.RUnlock()
	r.mu.Lock()
	var again []uint64
	for id, t := range r.out {
		if !all && !t.unsent {
			continue
		}
		if t.taken {
			t.taken = false
			r.waiting++
		}
		t.unsent = false
		again = append(again, id)
	}
	if len(again) > 0 {
		r.since, r.stalled = time.Now(), false
	}
	r.mu.Unlock()
	slices.Sort(again)
	for _, id := range again {
		r.mu.Lock()
		t := r.out[id]
		r.mu.Unlock()
		if t == nil { // its result came meanwhile
			continue
		}
		// The publishes of the old server wait for acks that will not come: a publish may
		// find no room among those in flight until they time out.
		if err := r.c.retry(ctx, func(context.Context) error { return r.publish(t) }); err != nil {
			r.failOut(fmt.Sprintf("cluster: %s: run %s: cannot submit a task again after the connection came back: %v", r.c.where, r.cfg.ID, err))
			return
		}
	}
}

// sentHeader carries, on each publish of a task, how many times it has been published.
const sentHeader = "Mphost-Sent"

// publish publishes t's message once more, without waiting for the server's ack.
func (r *Run) publish(t *outTask) error {
	r.mu.Lock()
	t.sent++
	sent := t.sent
	r.mu.Unlock()
	_, err := r.pub.PublishMsgAsync(&nats.Msg{Subject: r.taskSubj, Data: t.msg, Header: nats.Header{
		jetstream.MsgIDHeader: []string{t.msgID},
		sentHeader:            []string{strconv.FormatUint(sent, 10)},
	}})
	return err
}

// failOut gives each task out a result whose Err is why.
func (r *Run) failOut(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.out {
		r.drop(id)
		r.queue = append(r.queue, Result{Task: id, Err: why})
	}
	r.signal()
}
