package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	icluster "github.com/mphost/mphost/internal/cluster"
	"github.com/mphost/mphost/internal/objects"
)

// A run with Options.Cluster sends the tasks of its Pools to the cluster's workers. Each Pool
// keeps objects.Pool as its engine (order, imap, callbacks, progress, close, join, terminate);
// its workers are not processes but slots, goroutines of the host: each takes a task from the
// pool, hands it to the pool's messages to the cluster (cluster_pool.go), waits for its result
// and reports it. One goroutine reads the run's results and hands each to the message that
// waits for it.

// clusterInFlight bounds the messages of a run out on the cluster; the lanes of its pools
// (their processes) bound them first.
const clusterInFlight = 1 << 16

// slotOwners is where the owner ids of slots start, far above the ids of processes.
const slotOwners = objects.Owner(1) << 62

// clusterRun is one run's part of the cluster: the cluster Run its pools' tasks go to.
type clusterRun struct {
	run  *icluster.Run
	done chan struct{} // closed when the run gives no more results

	mu      sync.Mutex
	waiting map[uint64]chan icluster.Result // message -> the channel its sender waits on
	early   map[uint64]icluster.Result      // results come before their sender waited
	pools   []*hostPool
}

// clusterConn connects the host to its cluster the first time a run needs it.
func (h *Host) clusterConn() (*icluster.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cluster.conn == nil {
		c, err := icluster.Connect(h.cluster.url, icluster.ConnectOptions{Creds: h.cluster.creds, Name: "mphost run"})
		if err != nil {
			return nil, err
		}
		h.cluster.conn = c
	}
	return h.cluster.conn, nil
}

// startCluster starts the run's part of the cluster, when the host has one, and returns the
// function that ends it: it withdraws the tasks left and terminates the run's pools.
func (h *Host) startCluster(ctx context.Context) (end func(), err error) {
	if h.cluster.url == "" {
		return func() {}, nil
	}
	conn, err := h.clusterConn()
	if err != nil {
		return nil, err
	}
	stderr := lockedWriter{h.out, h.out.stderr}
	r, err := icluster.NewRun(ctx, conn, icluster.RunConfig{
		InFlight:  clusterInFlight,
		IdleAfter: h.cluster.idleAfter,
		Chunks:    h.chunks,
		Stdout:    lockedWriter{h.out, h.out.stdout},
		Stderr:    stderr,
		Idle: func(waiting int, waited time.Duration) {
			precision := time.Second
			if waited < time.Second {
				precision = 10 * time.Millisecond
			}
			fmt.Fprintf(stderr, "mphost: %d task(s) have waited %v on the cluster %s with no worker taking them\n",
				waiting, waited.Truncate(precision), conn.Where())
		},
	})
	if err != nil {
		return nil, err
	}
	cr := &clusterRun{run: r, done: make(chan struct{}), waiting: map[uint64]chan icluster.Result{},
		early: map[uint64]icluster.Result{}}
	go cr.read()
	h.mu.Lock()
	h.cluster.run = cr
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.cluster.run = nil
		h.mu.Unlock()
		closeCtx, cancel := context.WithTimeout(context.Background(), icluster.AckWait)
		defer cancel()
		_ = r.Close(closeCtx)
		<-cr.done
		cr.mu.Lock()
		pools := cr.pools
		cr.pools = nil
		cr.mu.Unlock()
		for _, p := range pools {
			p.Terminate()
		}
	}, nil
}

// read hands each result of the run to the slot waiting for it, until the run ends.
func (cr *clusterRun) read() {
	defer close(cr.done)
	for {
		res, err := cr.run.Next(context.Background())
		if err != nil {
			return
		}
		cr.mu.Lock()
		switch ch := cr.waiting[res.Task]; {
		case ch != nil:
			delete(cr.waiting, res.Task)
			ch <- res
		default:
			cr.early[res.Task] = res
		}
		cr.mu.Unlock()
	}
}

// await returns the channel that task's result comes on.
func (cr *clusterRun) await(task uint64) <-chan icluster.Result {
	ch := make(chan icluster.Result, 1)
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if res, ok := cr.early[task]; ok {
		delete(cr.early, task)
		ch <- res
	} else {
		cr.waiting[task] = ch
	}
	return ch
}

// cancel withdraws messages of the run from the cluster (their workers stop them), and gives
// their senders a withdrawn result at once; those whose result came meanwhile get it.
func (cr *clusterRun) cancel(ids []uint64) {
	// A worker not told runs its message to the end, and its result is dropped.
	cancelled, _ := cr.run.Cancel(ids...)
	res := icluster.Result{Err: clusterFailure(icluster.ErrWithdrawn)}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, id := range cancelled {
		res.Task = id
		if ch := cr.waiting[id]; ch != nil {
			delete(cr.waiting, id)
			ch <- res
		} else {
			cr.early[id] = res
		}
	}
}

// containsWorker reports whether a task's error names its cluster worker already.
func containsWorker(text string) bool { return strings.Contains(text, "(on cluster worker ") }

// clusterFailure is the error of a task that the cluster did not run.
func clusterFailure(err error) string {
	if errors.Is(err, icluster.ErrWithdrawn) {
		return "the run's tasks were withdrawn from the cluster"
	}
	return "cannot send the task to the cluster: " + err.Error()
}
