package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	icluster "github.com/mphost/mphost/internal/cluster"
	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// ClusterWorkerOptions configure a [ClusterWorker].
type ClusterWorkerOptions struct {
	// Processes is how many tasks the worker runs at once, each in a pool
	// worker process of its own; at least 1.
	Processes int
	// Creds is a NATS credentials file, for servers that want one rather
	// than the URL's token.
	Creds string
	// Logf, when set, gets the worker's log lines: each task taken and
	// done, tasks handed back, tasks of another protocol version waiting.
	Logf func(format string, args ...any)
	// Host configures the host that runs the pool worker processes: its
	// Stderr gets what they print outside a task (a crash report), and
	// Worker and MemoryLimit hold as for a run.
	Host Options
}

// ClusterWorker takes the tasks of every run on a cluster and runs them in
// pool worker processes that it starts and supervises, as a Host does for a
// Pool: the engine of `mphost cluster worker`. Each message of a Pool of a
// run (one task, or several short ones) runs in a process kept for that Pool,
// which runs the Pool's initializer and holds its maxtasksperchild and
// task_timeout; what a task prints goes to the run, and its closures' source
// is fetched from the run. A process that dies while it runs a task gives the
// task back at once: to the cluster, for another delivery, or, in a message of
// several, to the run, which sends it alone. Make one with NewClusterWorker,
// call Work once, then Close.
type ClusterWorker struct {
	h         *Host
	conn      *icluster.Conn
	w         *icluster.Worker
	name      string // HOST:PID
	processes int
	logf      func(format string, args ...any)

	mu    sync.Mutex
	pools []*localPool // of one process each: at most processes
}

// localPoolKey names a Pool of a run.
type localPoolKey struct {
	run  string
	pool uint64
}

// localPool is a pool of one process that runs a run's Pool's tasks on this worker, a task
// at a time: the tasks of a message run one after the other in it, with no wait between
// them, and no more of the Pool's tasks run at once than it has messages out.
type localPool struct {
	key   localPoolKey
	hp    *hostPool
	busy  bool        // a task runs
	used  time.Time   // when a task last ended
	quiet *time.Timer // closes the pool once it has waited quietAfter with no task
}

// runLink is where the processes of a cluster worker's pool send what the
// run that submitted their tasks must get: their output and the chunks of
// source they load, and where they fetch the chunks they lack.
type runLink struct {
	out    *output
	chunks vm.ChunkStore
}

// messageBudget is how long a message's tasks may run before the worker starts no more of
// them: a few times what the run aims a message at (batchTarget).
const messageBudget = 4 * batchTarget

// quietAfter is how long a pool of a worker waits with no task before it is
// closed, its processes freed for other pools.
const quietAfter = 10 * time.Second

// NewClusterWorker connects to the cluster at url (nats:// or tls://, with
// its token) and joins it as a worker. Its errors say what is wrong: the
// credentials refused, nothing listening.
func NewClusterWorker(ctx context.Context, url string, opts ClusterWorkerOptions) (*ClusterWorker, error) {
	if opts.Processes < 1 {
		return nil, fmt.Errorf("a cluster worker needs at least 1 process, not %d", opts.Processes)
	}
	hostname, _ := os.Hostname()
	cw := &ClusterWorker{name: hostname + ":" + strconv.Itoa(os.Getpid()), processes: opts.Processes,
		logf: opts.Logf}
	if cw.logf == nil {
		cw.logf = func(string, ...any) {}
	}
	conn, err := icluster.Connect(url, icluster.ConnectOptions{Creds: opts.Creds, Name: "mphost cluster worker"})
	if err != nil {
		return nil, err
	}
	w, err := icluster.NewWorker(ctx, conn, icluster.WorkerConfig{Name: cw.name, Slots: opts.Processes, Logf: opts.Logf, Run: cw.run})
	if err != nil {
		conn.Close()
		return nil, err
	}
	cw.conn, cw.w, cw.h = conn, w, New(opts.Host)
	return cw, nil
}

// Where is the cluster's URL without its credentials.
func (cw *ClusterWorker) Where() string { return cw.conn.Where() }

// Name is how results and errors name this worker: HOST:PID.
func (cw *ClusterWorker) Name() string { return cw.name }

// Work takes tasks and runs them until Stop or the end of ctx. After Stop it
// takes no more and returns once the tasks in hand have finished; when ctx
// ends it hands the tasks in hand back at once (another worker gets them)
// and returns once they have stopped.
func (cw *ClusterWorker) Work(ctx context.Context) error { return cw.w.Work(ctx) }

// Stop makes Work take no more tasks and return once those in hand have
// finished.
func (cw *ClusterWorker) Stop() { cw.w.Stop() }

// Close ends the worker's processes and reaps them, and closes its
// connection, after Work has returned.
func (cw *ClusterWorker) Close() error {
	cw.mu.Lock()
	for _, lp := range cw.pools {
		cw.endPool(lp, true)
	}
	cw.pools = nil
	cw.mu.Unlock()
	cw.h.Close()
	cw.conn.Close()
	return nil
}

// run runs a task the cluster handed over, in a process of its Pool's pool here.
func (cw *ClusterWorker) run(ctx context.Context, t icluster.Task) ([]byte, error) {
	cw.logf("run %s: task %d taken (delivery %d)", t.Run, t.ID, t.Delivery)
	res, err := cw.runTask(ctx, t)
	if dropped := cw.fitResult(&res, cw.w.MaxResult()); dropped > 0 {
		cw.logf("run %s: task %d: the results of %d of its %d tasks fit in a message; the others go back", t.Run, t.ID, len(res.Items), len(res.Items)+dropped)
	}
	for i, it := range res.Items {
		switch {
		case it.Died:
			cw.logf("run %s: task %d: its task %d of %d goes back: %s", t.Run, t.ID, i+1, len(res.Items), firstLine(it.Err))
		case it.Err != "" && err == nil:
			err = errors.New(it.Err) // for the log: the result carries it
		}
	}
	switch {
	case ctx.Err() != nil:
		cw.logf("run %s: task %d stopped: %v", t.Run, t.ID, context.Cause(ctx))
	case errors.Is(err, icluster.ErrProcessDied): // the worker logs it handed the task back
	case err != nil:
		cw.logf("run %s: task %d done: failed: %v", t.Run, t.ID, firstLine(err.Error()))
	default:
		cw.logf("run %s: task %d done", t.Run, t.ID)
	}
	if res.Items == nil {
		return nil, err
	}
	return res.Append(nil), nil
}

// fitResult keeps the items of res whose results fit in most bytes, and returns how many it
// dropped: the run sends those again. A first item too large alone fails, saying so, for it
// would be as large on any worker.
func (cw *ClusterWorker) fitResult(res *icluster.PoolResult, most int) (dropped int) {
	uvarint := func(n int) int { return len(binary.AppendUvarint(nil, uint64(n))) }
	size := 1 + uvarint(int(res.Elapsed)) + uvarint(len(res.Items)) // as PoolResult.Append writes it
	for i, it := range res.Items {
		if size += 1 + uvarint(len(it.Err)) + len(it.Err) + uvarint(len(it.Data)) + len(it.Data); size <= most {
			continue
		}
		if i == 0 {
			res.Items[0] = icluster.ItemResult{Err: fmt.Sprintf("the task's result is %d bytes, more than the %d the cluster's server takes in a message\n(on cluster worker %s)",
				len(it.Err)+len(it.Data), most, cw.name)}
			i = 1
		}
		dropped = len(res.Items) - i
		res.Items = res.Items[:i]
		return dropped
	}
	return 0
}

// runTask is run, without the log. It runs the items of the task one after the other in
// the pool, as the run's Pool would run them in one of its processes, and returns their
// results: all in one call to the process (bundle), or, when the Pool counts or times each
// task there (maxtasksperchild, task_timeout), one call an item (each). Once messageBudget has
// passed, it starts no more items: the result lacks them, and the run sends them again, timed
// anew, so that long tasks do not wait one behind the other in a message meant for short
// ones. When the process dies in a bundle, which item killed it is not known: they run again,
// one call each.
func (cw *ClusterWorker) runTask(ctx context.Context, t icluster.Task) (icluster.PoolResult, error) {
	task, err := icluster.DecodePoolTask(t.Payload)
	if err != nil {
		return icluster.PoolResult{}, err
	}
	lp, err := cw.pool(t, task)
	if err != nil {
		return icluster.PoolResult{}, err
	}
	defer cw.taskEnded(lp)
	pool := lp.hp.Pool
	fn := pool.AddFunction(bytes.Clone(task.Func))
	batch, err := pool.NewBatch(fn) // takes over AddFunction's hold
	if err != nil {
		return icluster.PoolResult{}, err
	}
	defer pool.Forget(batch)
	run := taskRun{cw: cw, t: t, task: task, lp: lp, batch: batch, fn: fn, start: time.Now()}
	if len(task.Items) == 1 || task.MaxTasks > 0 || task.Timeout > 0 {
		return run.each(ctx)
	}
	res, died, err := run.bundle(ctx)
	if died != "" {
		cw.logf("run %s: task %d: its process died running its %d tasks together (%s); they run again one at a time", t.Run, t.ID, len(task.Items), firstLine(died))
		run.start = time.Now()
		return run.each(ctx)
	}
	return res, err
}

// taskRun is a message of a run's Pool on its way through a pool of the worker.
type taskRun struct {
	cw    *ClusterWorker
	t     icluster.Task
	task  icluster.PoolTask
	lp    *localPool
	batch uint64 // the pool's batch of the message's tasks
	fn    uint64 // the pool's id of task.Func
	start time.Time
}

// bundle runs the message's items in one task of the pool (vm.AppendBundle) and returns
// their results; died is why the process died, when it did.
func (r *taskRun) bundle(ctx context.Context) (res icluster.PoolResult, died string, err error) {
	pool := r.lp.hp.Pool
	id, err := pool.Submit(r.batch, r.fn, vm.AppendBundle(nil, messageBudget, r.cw.w.MaxResult(), r.task.Items))
	if err != nil {
		return res, "", err
	}
	out, err := pool.Result(ctx, id, objects.WaitForever)
	if err != nil {
		r.cw.endBusyPool(r.lp) // withdrawn or handed back: what runs it is stopped with its pool
		return res, "", err
	}
	if out.Died {
		return res, out.Err, nil
	}
	if out.Err != "" { // the bundle did not run: each item fails so
		res.Items = slices.Repeat([]icluster.ItemResult{r.itemResult(out.Err, nil)}, len(r.task.Items))
	} else {
		outcomes, err := vm.SplitBundleResult(out.Data)
		if err != nil {
			return res, "", err
		}
		for _, o := range outcomes {
			res.Items = append(res.Items, r.itemResult(o.Err, o.Data))
		}
	}
	r.ended(&res)
	return res, "", nil
}

// each runs the message's items one task of the pool each, two in the pool at a time (its
// process takes the next as it ends one, and the message can end early). An item whose
// process dies is marked so, and the items after it run in the process that replaces it; the
// run sends the one that died again, alone, so that a task that kills its process fails
// alone, after its own deliveries. A message of one item whose process dies is handed back to
// the cluster instead (ErrProcessDied).
func (r *taskRun) each(ctx context.Context) (icluster.PoolResult, error) {
	pool := r.lp.hp.Pool
	items := r.task.Items
	ids := make([]uint64, 0, len(items))
	var res icluster.PoolResult
	for i := 0; i < len(items); i++ {
		for len(ids) < min(i+2, len(items)) && (i == 0 || time.Since(r.start) < messageBudget) {
			id, err := pool.Submit(r.batch, r.fn, bytes.Clone(items[len(ids)]))
			if err != nil {
				return icluster.PoolResult{}, err
			}
			ids = append(ids, id)
		}
		if i == len(ids) { // over its budget: the tasks left go back to the run
			break
		}
		out, err := pool.Result(ctx, ids[i], objects.WaitForever)
		if err != nil {
			r.cw.endBusyPool(r.lp) // withdrawn or handed back: what runs it is stopped with its pool
			return icluster.PoolResult{}, err
		}
		if out.Died && len(items) == 1 {
			return icluster.PoolResult{}, fmt.Errorf("%w: %s", icluster.ErrProcessDied, out.Err)
		}
		ir := icluster.ItemResult{Died: true, Err: out.Err}
		if !out.Died {
			ir = r.itemResult(out.Err, out.Data)
		}
		res.Items = append(res.Items, ir)
	}
	r.ended(&res)
	return res, nil
}

// itemResult is an item's result from what its process reported: an error with no data (the
// item did not run) names the worker, as the process names it in the errors of items. Results
// that carry an object made here fail so: the run cannot reach it.
func (r *taskRun) itemResult(errText string, data []byte) icluster.ItemResult {
	if named := handleNames(data, 0); named != "" {
		r.cw.h.dropCarried(data) // no process receives it: its objects' holds in transit end
		errText, data = "the task's results carry "+named+": the run cannot reach the objects of a cluster worker", nil
	}
	ir := icluster.ItemResult{Err: errText, Data: bytes.Clone(data)}
	if errText != "" && data == nil {
		ir.Err += "\n(on cluster worker " + r.cw.name + ")"
	}
	return ir
}

// ended notes how long the message ran, and logs it when it ended before all its items ran.
func (r *taskRun) ended(res *icluster.PoolResult) {
	res.Elapsed = time.Since(r.start)
	if n := len(res.Items); n < len(r.task.Items) {
		r.cw.logf("run %s: task %d: %d of its %d tasks run in %v; the others go back", r.t.Run, r.t.ID, n, len(r.task.Items), res.Elapsed.Round(time.Millisecond))
	}
}

// endBusyPool terminates lp, whose task was withdrawn or handed back while it ran, if it is
// still the worker's.
func (cw *ClusterWorker) endBusyPool(lp *localPool) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.remove(lp) {
		cw.endPool(lp, true)
	}
}

// pool returns an idle pool of t's Pool here, started if need be, marked busy. A new pool's
// process takes the place of the process of the pool idle longest, when the worker has as
// many as its processes.
func (cw *ClusterWorker) pool(t icluster.Task, task icluster.PoolTask) (*localPool, error) {
	key := localPoolKey{t.Run, task.Pool}
	cw.mu.Lock()
	defer cw.mu.Unlock()
	var oldest *localPool
	for _, lp := range cw.pools {
		switch {
		case lp.busy:
		case lp.key == key:
			lp.busy = true
			return lp, nil
		case oldest == nil || lp.used.Before(oldest.used):
			oldest = lp
		}
	}
	if len(cw.pools) >= cw.processes && oldest != nil {
		cw.remove(oldest)
		cw.endPool(oldest, false)
	}
	lp, err := cw.startPool(key, t, task)
	if err != nil {
		return nil, err
	}
	lp.busy = true
	cw.pools = append(cw.pools, lp)
	return lp, nil
}

// remove takes lp out of the worker's pools and reports whether it was there. cw.mu is held.
func (cw *ClusterWorker) remove(lp *localPool) bool {
	i := slices.Index(cw.pools, lp)
	if i >= 0 {
		cw.pools = slices.Delete(cw.pools, i, i+1)
	}
	return i >= 0
}

// startPool starts the pool of a run's Pool. cw.mu is held.
func (cw *ClusterWorker) startPool(key localPoolKey, t icluster.Task, task icluster.PoolTask) (*localPool, error) {
	pool, err := objects.NewPool(objects.PoolConfig{Processes: 1, MaxTasksPerChild: task.MaxTasks, TaskTimeout: task.Timeout})
	if err != nil {
		return nil, err
	}
	h := cw.h
	link := &runLink{
		out:    &output{stdout: cw.conn.TaskOutput(icluster.Task{Run: t.Run}, false), stderr: cw.conn.TaskOutput(icluster.Task{Run: t.Run}, true)},
		chunks: cw.conn.RunChunks(t.Run),
	}
	hp := &hostPool{Pool: pool, spawner: &poolSpawner{h: h, owner: objects.MainScript, pool: pool, link: link}}
	hp.id = h.objects.AddHeld(hp, objects.MainScript)
	payload, err := vm.LocalPoolPayload(task.Init, hp.id, "cluster worker "+cw.name)
	if err == nil {
		hp.spawner.payload = payload
		pool.Hold(payload)
		err = pool.Start(hp.spawner)
	}
	if err != nil {
		h.objects.Adjust(objects.MainScript, []objects.Change{{ID: hp.id, Held: -1}})
		return nil, err
	}
	return &localPool{key: key, hp: hp}, nil
}

// taskEnded marks lp idle, and closes it if no task comes for it within quietAfter.
func (cw *ClusterWorker) taskEnded(lp *localPool) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	lp.busy = false
	lp.used = time.Now()
	if !slices.Contains(cw.pools, lp) { // ended while its task ran
		return
	}
	if lp.quiet != nil {
		lp.quiet.Reset(quietAfter)
		return
	}
	lp.quiet = time.AfterFunc(quietAfter, func() {
		cw.mu.Lock()
		defer cw.mu.Unlock()
		if !lp.busy && time.Since(lp.used) >= quietAfter && cw.remove(lp) {
			cw.endPool(lp, false)
		}
	})
}

// endPool closes lp (its processes exit) or terminates it (they are killed), and lets go of
// the pool, which is freed once its processes have ended. cw.mu is held.
func (cw *ClusterWorker) endPool(lp *localPool, terminate bool) {
	if lp.quiet != nil {
		lp.quiet.Stop()
	}
	if terminate {
		lp.hp.Terminate()
	} else {
		lp.hp.Close()
	}
	cw.h.objects.Adjust(objects.MainScript, []objects.Change{{ID: lp.hp.id, Held: -1}})
}

// firstLine is the first line of text.
func firstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return line
}
