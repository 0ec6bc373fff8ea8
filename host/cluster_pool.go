package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	icluster "github.com/mphost/mphost/internal/cluster"
	"github.com/mphost/mphost/internal/objects"
)

// A Pool of a cluster run keeps at most `processes` messages out on the cluster, so that its
// tasks run in at most that many processes at once, as on local processes. A message carries
// one task, or several of one function when its tasks are short: a message costs the cluster
// far more than a short task takes to run, and the tasks of one message run one after the
// other in one worker process. How many a message carries follows how long the function's
// tasks took in its last messages: enough to fill about batchTarget, at most batchMax.

const (
	// batchTarget is about how long the tasks of one message take to run, when they are short.
	batchTarget = 10 * time.Millisecond
	// batchMax bounds the tasks of one message.
	batchMax = 64
	// batchBytes bounds the arguments of the tasks of one message, but for its first; the
	// server's limit bounds the whole message too.
	batchBytes = 1 << 20
	// itemBytes is the most a task adds to a message besides its arguments.
	itemBytes = 2 * binary.MaxVarintLen64
	// lingerFor is how long a message short of its size waits for one more task.
	lingerFor = 200 * time.Microsecond
	// slotsMax bounds the slots of a pool (the tasks it takes from its FIFO to put in
	// messages) when its processes times batchMax would be more.
	slotsMax = 1024
)

// clusterSlots is how many slots a cluster Pool of the given processes has: enough to fill a
// message for each lane, within slotsMax.
func clusterSlots(processes int) int {
	if processes >= slotsMax/batchMax {
		return max(processes, slotsMax)
	}
	return processes * batchMax
}

// clusterPool is the objects.WorkerSpawner of a Pool of a cluster run, whose workers are
// slots, and the sender of its messages.
type clusterPool struct {
	cr       *clusterRun
	hp       *hostPool
	payload  []byte        // the payload of the pool's workers, set by poolStart
	maxTasks int           // maxtasksperchild, for the cluster workers
	timeout  time.Duration // task_timeout, for the cluster workers
	lanes    int           // the pool's processes: its messages out at most
	maxBytes int           // the largest message the cluster takes; 0: no bound but batchBytes

	mu       sync.Mutex
	slots    map[objects.Owner]context.CancelFunc
	last     objects.Owner
	queue    []*slotTask           // tasks waiting for a message
	out      int                   // messages out
	outTasks int                   // the tasks of the messages out
	timings  map[uint64]*taskTimes // per function, at most timingsMax
	queued   time.Time             // when a task was last queued
	readers  int                   // callers waiting for a result or the pool's end (reading)
	linger   *time.Timer           // calls send when a message short of its size has waited lingerFor
	sent     map[uint64]bool       // the ids of its messages out on the cluster
	ended    bool                  // terminated: it sends no more messages
}

// taskTimes is how long a task of a function took on its worker, in each of the last few
// messages of its tasks; 0 before.
type taskTimes struct {
	last  [4]time.Duration
	timed int // messages timed, to place the next in last
}

// timingsMax bounds the functions a pool keeps times of.
const timingsMax = 64

// slotTask is a task a slot took from the pool, on its way to and from the cluster.
type slotTask struct {
	funcID uint64 // its function's id in the pool, which keeps it while the task runs
	args   []byte
	alone  bool                     // its process died in a message of several: it goes alone now
	gone   bool                     // its slot left: its result is dropped
	done   chan icluster.ItemResult // gets its result (cap 1)
}

// newClusterPool makes hp a pool of the run cr: maxTasks and timeout hold on the workers, and
// processes bounds its messages out.
func (cr *clusterRun) newClusterPool(hp *hostPool, processes, maxTasks int, timeout time.Duration) *clusterPool {
	cr.mu.Lock()
	cr.pools = append(cr.pools, hp)
	cr.mu.Unlock()
	return &clusterPool{cr: cr, hp: hp, maxTasks: maxTasks, timeout: timeout, lanes: processes, maxBytes: cr.run.MaxPayload(),
		slots: map[objects.Owner]context.CancelFunc{}, last: slotOwners, timings: map[uint64]*taskTimes{},
		sent: map[uint64]bool{}}
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

// slot takes the pool's tasks one at a time and has each run on the cluster, until the pool
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
		st := &slotTask{funcID: t.FuncID, args: t.Args, done: make(chan icluster.ItemResult, 1)}
		cp.mu.Lock()
		cp.queue = append(cp.queue, st)
		cp.queued = time.Now()
		cp.send()
		cp.mu.Unlock()
		var r icluster.ItemResult
		select {
		case r = <-st.done:
		case <-ctx.Done():
			cp.mu.Lock()
			st.gone = true
			if i := slices.Index(cp.queue, st); i >= 0 { // else out in a message
				cp.queue = slices.Delete(cp.queue, i, i+1)
			}
			cp.send()
			cp.mu.Unlock()
			return
		}
		if pool.Done(w, t.ID, r.Data, r.Err) == nil {
			cp.hp.taskFinished(t.ID)
		}
	}
}

// send sends messages of the tasks queued while fewer than lanes are out. cp.mu is held.
func (cp *clusterPool) send() {
	for !cp.ended && cp.out < cp.lanes && len(cp.queue) > 0 {
		fn, tasks := cp.nextMessage()
		if tasks == nil {
			return
		}
		cp.out++
		cp.outTasks += len(tasks)
		go cp.run(fn, tasks)
	}
}

// nextMessage takes the tasks of the next message from the queue, with their function's
// bytes, or returns nil to wait for more. A message carries tasks of one function, that of the task queued first, batchSize of
// them at most. When the pool has fewer tasks than fill a message for each lane (queued, out
// or in its FIFO), they are shared out evenly, so that the last messages of a map end
// together; that waits until all of them are known. A message short of its size waits: while
// the pool's FIFO has tasks and fewer than that size are queued, for the FIFO's tasks are on
// their way to slots, which queue them here (a slot is free to take them, since the tasks
// queued and out are fewer than the slots); then until no task has come for lingerFor, for
// the tasks of a map are submitted one after the other. cp.mu is held.
func (cp *clusterPool) nextMessage() (fn []byte, tasks []*slotTask) {
	head := cp.queue[0]
	if head.alone {
		cp.queue = slices.Delete(cp.queue, 0, 1)
		fn, _ = cp.hp.Pool.Function(head.funcID)
		return fn, []*slotTask{head}
	}
	like := func(st *slotTask) bool { return st.funcID == head.funcID && !st.alone }
	queued := 0
	for _, st := range cp.queue {
		if like(st) {
			queued++
		}
	}
	waiting := cp.hp.Pool.Waiting()
	want := cp.timings[head.funcID].batchSize()
	if want > 1 {
		if total := queued + waiting + cp.outTasks; total < want*cp.lanes {
			if cp.wait(want, waiting) {
				return nil, nil
			}
			messages := ceilDiv(ceilDiv(total, want), cp.lanes) * cp.lanes
			want = ceilDiv(total, messages)
		}
	}
	if queued < want && cp.wait(want, waiting) {
		return nil, nil
	}
	fn, _ = cp.hp.Pool.Function(head.funcID)
	budget := batchBytes
	if cp.maxBytes > 0 {
		budget = min(budget, cp.maxBytes-len(cp.payload)-len(fn)-64)
	}
	size := 0
	cp.queue = slices.DeleteFunc(cp.queue, func(st *slotTask) bool {
		if len(tasks) == want || !like(st) {
			return false
		}
		if size += len(st.args) + itemBytes; len(tasks) > 0 && size > budget {
			want = len(tasks) // full
			return false
		}
		tasks = append(tasks, st)
		return true
	})
	return fn, tasks
}

// wait reports whether a message of size tasks waits for more: while the FIFO has tasks and
// fewer than size are queued; then, unless a caller waits for a result (who submits no more
// meanwhile), until lingerFor has passed since a task last came, for which it sets a timer.
// cp.mu is held.
func (cp *clusterPool) wait(size, waiting int) bool {
	if waiting > 0 && len(cp.queue) < size {
		return true
	}
	quiet := time.Since(cp.queued)
	if quiet >= lingerFor || cp.readers > 0 {
		return false
	}
	if cp.linger == nil {
		cp.linger = time.AfterFunc(lingerFor-quiet, cp.lingered)
	} else {
		cp.linger.Reset(lingerFor - quiet)
	}
	return true
}

// reading counts a caller waiting for a result, or for the pool's end, until the function it
// returns is called, and sends what waited for more tasks: the caller submits none meanwhile.
// A timer of lingerFor fires a millisecond late when the process is idle; a caller that waits
// for a result is the sooner sign that a map's tasks are all submitted.
func (cp *clusterPool) reading() (done func()) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.readers++
	cp.send()
	return func() {
		cp.mu.Lock()
		defer cp.mu.Unlock()
		cp.readers--
	}
}

// lingered sends the message that waited lingerFor.
func (cp *clusterPool) lingered() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.send()
}

// ceilDiv is a/b rounded up, for a >= 0 and b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// batchSize is how many tasks of the function a message carries at most: as many as run in
// about batchTarget, by the time a task took in its last message or, when that is longer, the
// mean of its last few messages; 1 before any was timed. The mean, so that a message of long
// tasks among quick ones weighs a quarter in the size of the next (the worker ends a message
// that runs long, and gives the rest back); the last message when it is quicker, so that one
// slowed by first costs (a process started, the function fetched from the run) holds only
// the next message small, as does one of long tasks.
func (tt *taskTimes) batchSize() int {
	if tt == nil || tt.timed == 0 {
		return 1
	}
	var sum time.Duration
	n := 0
	for _, d := range tt.last {
		if d > 0 {
			sum += d
			n++
		}
	}
	per := min(sum/time.Duration(n), tt.last[(tt.timed-1)%len(tt.last)])
	if per >= batchTarget {
		return 1
	}
	return int(min(batchMax, batchTarget/per))
}

// timed notes how long each task of a message of fn took. cp.mu is held.
func (cp *clusterPool) timed(fn uint64, perTask time.Duration) {
	tt := cp.timings[fn]
	if tt == nil {
		if len(cp.timings) >= timingsMax {
			for other := range cp.timings {
				delete(cp.timings, other) // any one: a function seen again starts afresh
				break
			}
		}
		tt = &taskTimes{}
		cp.timings[fn] = tt
	}
	tt.last[tt.timed%len(tt.last)] = max(perTask, 1)
	tt.timed++
}

// run sends a message of tasks of function fn to the cluster, waits for its result and hands
// each task its own.
func (cp *clusterPool) run(fn []byte, tasks []*slotTask) {
	msg := icluster.PoolTask{Pool: cp.hp.id, Init: cp.payload, MaxTasks: cp.maxTasks, Timeout: cp.timeout,
		Func: fn, Items: make([][]byte, len(tasks))}
	for i, st := range tasks {
		msg.Items[i] = st.args
	}
	var res icluster.Result
	withdrawn := false
	id, err := cp.cr.run.Submit(context.Background(), msg.Append(nil))
	if err != nil {
		res.Err, withdrawn = clusterFailure(err), errors.Is(err, icluster.ErrWithdrawn)
	} else {
		cp.mu.Lock()
		cp.sent[id] = true
		ended := cp.ended
		cp.mu.Unlock()
		if ended { // terminated while it was on its way
			cp.cr.cancel([]uint64{id})
		}
		select {
		case res = <-cp.cr.await(id):
		case <-cp.cr.done:
			res.Err, withdrawn = clusterFailure(icluster.ErrWithdrawn), true
		}
	}
	cp.mu.Lock()
	delete(cp.sent, id)
	withdrawn = withdrawn || cp.ended
	cp.mu.Unlock()
	cp.finish(tasks, res, withdrawn)
}

// stopSending makes the pool send no more messages: it is terminated.
func (cp *clusterPool) stopSending() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.ended = true
}

// withdraw withdraws the messages of a terminated pool out on the cluster (their workers stop
// them), as terminate ends local workers.
func (cp *clusterPool) withdraw() {
	cp.mu.Lock()
	ids := slices.Collect(maps.Keys(cp.sent))
	cp.mu.Unlock()
	if len(ids) > 0 {
		cp.cr.cancel(ids)
	}
}

// finish hands each task of a message its result, and queues again those that have none: one
// whose process died, to go alone, and any the result lacks. When a message of several failed
// as a whole (its worker lost each time, the server refusing it), but not withdrawn, each of
// its tasks goes again alone, to fail or not by itself.
func (cp *clusterPool) finish(tasks []*slotTask, res icluster.Result, withdrawn bool) {
	var pr icluster.PoolResult
	if res.Err == "" {
		var err error
		if pr, err = icluster.DecodePoolResult(res.Data); err != nil {
			res.Err = err.Error()
		}
	}
	again := res.Err != "" && len(tasks) > 1 && !withdrawn
	if res.Err != "" {
		if res.Worker != "" && !containsWorker(res.Err) {
			res.Err += "\n(on cluster worker " + res.Worker + ")"
		}
		pr.Items = nil
		for range tasks {
			pr.Items = append(pr.Items, icluster.ItemResult{Died: again, Err: res.Err})
		}
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	var requeued []*slotTask
	for i, st := range tasks {
		switch {
		case st.gone:
		case i >= len(pr.Items):
			requeued = append(requeued, st)
		case pr.Items[i].Died:
			st.alone = true
			requeued = append(requeued, st)
		default:
			st.done <- pr.Items[i]
		}
	}
	if res.Err == "" {
		cp.timed(tasks[0].funcID, pr.Elapsed/time.Duration(len(pr.Items)))
	}
	cp.queue = append(requeued, cp.queue...)
	cp.out--
	cp.outTasks -= len(tasks)
	cp.send()
}
