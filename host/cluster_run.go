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
// pool, submits it to the cluster, waits for its result and reports it. One goroutine reads
// the run's results and hands each to the slot that waits for it.

// clusterInFlight bounds the tasks of a run out on the cluster; the slots of its pools (their
// processes) bound them first.
const clusterInFlight = 1 << 16

// slotOwners is where the owner ids of slots start, far above the ids of processes.
const slotOwners = objects.Owner(1) << 62

// clusterRun is one run's part of the cluster: the cluster Run its pools' tasks go to.
type clusterRun struct {
	run  *icluster.Run
	done chan struct{} // closed when the run gives no more results

	mu        sync.Mutex
	waiting   map[uint64]chan icluster.Result // task -> its slot's
	early     map[uint64]icluster.Result      // results come before their slot waited
	abandoned map[uint64]bool                 // tasks whose slot left: their result is dropped
	pools     []*hostPool
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
		early: map[uint64]icluster.Result{}, abandoned: map[uint64]bool{}}
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
		case cr.abandoned[res.Task]:
			delete(cr.abandoned, res.Task)
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

// abandon drops task's result, which nobody waits for any more.
func (cr *clusterRun) abandon(task uint64) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if _, ok := cr.early[task]; ok {
		delete(cr.early, task)
		return
	}
	delete(cr.waiting, task)
	cr.abandoned[task] = true
}

// clusterPool is the objects.WorkerSpawner of a Pool of a cluster run: its workers are slots.
type clusterPool struct {
	cr       *clusterRun
	hp       *hostPool
	payload  []byte        // the payload of the pool's workers, set by poolStart
	maxTasks int           // maxtasksperchild, for the cluster workers
	timeout  time.Duration // task_timeout, for the cluster workers

	mu    sync.Mutex
	slots map[objects.Owner]context.CancelFunc
	last  objects.Owner
}

// newClusterPool makes hp a pool of the run cr: maxTasks and timeout hold on the workers.
func (cr *clusterRun) newClusterPool(hp *hostPool, maxTasks int, timeout time.Duration) *clusterPool {
	cr.mu.Lock()
	cr.pools = append(cr.pools, hp)
	cr.mu.Unlock()
	return &clusterPool{cr: cr, hp: hp, maxTasks: maxTasks, timeout: timeout,
		slots: map[objects.Owner]context.CancelFunc{}, last: slotOwners}
}

// SpawnWorker implements objects.WorkerSpawner: it starts a slot.
func (cp *clusterPool) SpawnWorker() (objects.Owner, string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cp.mu.Lock()
	cp.last++
	w := cp.last
	cp.slots[w] = cancel
	cp.mu.Unlock()
	go cp.slot(ctx, w)
	return w, fmt.Sprintf("cluster slot %d", w-slotOwners), nil
}

// KillWorker implements objects.WorkerSpawner: the slot leaves at once, and its task's result
// will be dropped.
func (cp *clusterPool) KillWorker(w objects.Owner) {
	cp.mu.Lock()
	cancel := cp.slots[w]
	cp.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// slot takes the pool's tasks one at a time and runs each on the cluster, until the pool
// closes or kills it.
func (cp *clusterPool) slot(ctx context.Context, w objects.Owner) {
	pool := cp.hp.Pool
	defer func() {
		cp.mu.Lock()
		cancel := cp.slots[w]
		delete(cp.slots, w)
		cp.mu.Unlock()
		cancel()
		pool.WorkerExited(w, "")
	}()
	for {
		t, err := pool.Next(ctx, w, objects.WaitForever)
		if err != nil {
			return
		}
		fn := t.Func
		if fn == nil {
			fn, _ = pool.Function(t.FuncID)
		}
		data, errText, ok := cp.run(ctx, t.Args, fn)
		if !ok {
			return
		}
		if pool.Done(w, t.ID, data, errText) == nil {
			cp.hp.taskFinished(t.ID)
		}
	}
}

// run runs one task on the cluster and returns its result; ok is false when ctx ended first.
func (cp *clusterPool) run(ctx context.Context, args, fn []byte) (data []byte, errText string, ok bool) {
	payload := clusterTask{pool: cp.hp.id, init: cp.payload, maxTasks: cp.maxTasks, timeout: cp.timeout, fn: fn, args: args}.encode()
	task, err := cp.cr.run.Submit(ctx, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", false
		}
		return nil, clusterFailure(err), true
	}
	select {
	case res := <-cp.cr.await(task):
		if res.Err != "" && len(res.Data) == 0 && res.Worker != "" && !containsWorker(res.Err) {
			res.Err += "\n(on cluster worker " + res.Worker + ")"
		}
		return res.Data, res.Err, true
	case <-cp.cr.done:
		return nil, clusterFailure(icluster.ErrWithdrawn), true
	case <-ctx.Done():
		cp.cr.abandon(task)
		return nil, "", false
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
