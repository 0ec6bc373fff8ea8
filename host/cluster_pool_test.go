package host

import (
	"testing"
	"time"

	icluster "github.com/mphost/mphost/internal/cluster"
	"github.com/mphost/mphost/internal/objects"
)

// How the queued tasks of a cluster Pool are cut into messages: of the first task's function,
// as many as its last times allow, spread over the lanes, within the bytes bound; a task whose
// process died goes alone, and a function not yet timed goes one task a message.
func TestClusterMessages(t *testing.T) {
	pool, err := objects.NewPool(objects.PoolConfig{Processes: 1})
	if err != nil {
		t.Fatal(err)
	}
	cp := &clusterPool{hp: &hostPool{Pool: pool}, lanes: 2, timings: map[uint64]*taskTimes{}}
	// Held throughout, as by send. The wait below arms a timer that calls send, which then
	// finds the lanes full and sends nothing.
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.out = cp.lanes
	queue := func(fn uint64, n, size int) {
		for range n {
			cp.queue = append(cp.queue, &slotTask{funcID: fn, args: make([]byte, size)})
		}
	}
	take := func() (n int, fn uint64) {
		t.Helper()
		_, tasks := cp.nextMessage()
		for _, st := range tasks {
			if st.funcID != tasks[0].funcID {
				t.Fatalf("a message of functions %d and %d", tasks[0].funcID, st.funcID)
			}
		}
		if len(tasks) == 0 {
			return 0, 0
		}
		return len(tasks), tasks[0].funcID
	}
	// Untimed: one a message.
	queue(1, 3, 10)
	if n, fn := take(); n != 1 || fn != 1 {
		t.Errorf("an untimed function: a message of %d tasks of %d, want 1 of 1", n, fn)
	}
	// 100 µs a task: up to batchMax, here the 102 tasks spread over two messages, then
	// the same share while one is out.
	cp.timed(1, 100*time.Microsecond)
	queue(1, 100, 10)
	if n, _ := take(); n != 51 {
		t.Errorf("102 short tasks on two lanes: a message of %d, want 51", n)
	}
	cp.outTasks = 51
	if n, _ := take(); n != 51 {
		t.Errorf("the second message: %d tasks, want 51", n)
	}
	cp.outTasks = 0
	// A slow function after it goes one a message, though queued first among short ones.
	cp.timed(2, 20*time.Millisecond)
	queue(2, 2, 10)
	queue(1, 4, 10)
	if n, fn := take(); n != 1 || fn != 2 {
		t.Errorf("a message of %d tasks of %d, want 1 of the slow 2", n, fn)
	}
	if n, fn := take(); n != 1 || fn != 2 {
		t.Errorf("a message of %d tasks of %d, want 1 of the slow 2", n, fn)
	}
	// The short ones waiting behind it go together, a half for each lane.
	if n, fn := take(); n != 2 || fn != 1 {
		t.Errorf("a message of %d tasks of %d, want 2 of 1", n, fn)
	}
	// A message short of its size (two tasks where others of the map are out) waits for
	// more while tasks come, then goes.
	cp.outTasks = 100
	cp.queued = time.Now()
	if n, _ := take(); n != 0 {
		t.Errorf("a message of %d tasks went at once, want a wait", n)
	}
	cp.readers = 1 // the script waits for a result: it submits no more
	if n, _ := take(); n != 2 {
		t.Errorf("with a caller waiting for results: a message of %d tasks, want 2", n)
	}
	cp.readers = 0
	queue(1, 2, 10)
	cp.queued = time.Now().Add(-time.Second)
	if n, _ := take(); n != 2 {
		t.Errorf("after the wait: a message of %d tasks, want 2", n)
	}
	cp.outTasks = 0
	// A task of another function among them waits for a message of its own.
	cp.queue = nil
	queue(1, 1, 10)
	queue(2, 1, 10)
	queue(1, 7, 10)
	if n, fn := take(); n != 4 || fn != 1 {
		t.Errorf("a message of %d tasks of %d, want 4 of 1 (half of the 8)", n, fn)
	}
	if n, fn := take(); n != 1 || fn != 2 {
		t.Errorf("a message of %d tasks of %d, want the 1 of 2", n, fn)
	}
	cp.queue = nil
	// A task that died in a message goes alone.
	queue(1, 3, 10)
	cp.queue[1].alone = true
	if n, _ := take(); n != 1 {
		t.Errorf("before the task that died: %d tasks, want the 1 before it", n)
	}
	if n, _ := take(); n != 1 || len(cp.queue) != 1 {
		t.Errorf("the task that died: a message of %d, want it alone", n)
	}
	cp.queue = nil
	// Big arguments: within batchBytes, but for the first.
	queue(1, 10, batchBytes/3-itemBytes)
	if n, _ := take(); n != 3 {
		t.Errorf("tasks of a third of batchBytes: %d a message, want 3", n)
	}
	cp.queue = nil
	queue(1, 2, 2*batchBytes)
	if n, _ := take(); n != 1 {
		t.Errorf("a task over batchBytes: %d a message, want 1", n)
	}
	// The last times count: tasks grown long go one a message within a few messages.
	for range 4 {
		cp.timed(1, 30*time.Millisecond)
	}
	cp.queue = nil
	queue(1, 10, 10)
	if n, _ := take(); n != 1 {
		t.Errorf("tasks of 30 ms: %d a message, want 1", n)
	}
	// A message slowed by first costs holds only the next small; a slow message among quick
	// ones weighs a quarter.
	tt := &taskTimes{}
	cp.timings[3] = tt
	for _, step := range []struct {
		took time.Duration
		want int
	}{{15 * time.Millisecond, 1}, {100 * time.Microsecond, batchMax}, {100 * time.Microsecond, batchMax},
		{100 * time.Microsecond, batchMax}, {8 * time.Millisecond, 4}, {100 * time.Microsecond, batchMax}} {
		cp.timed(3, step.took)
		if n := tt.batchSize(); n != step.want {
			t.Errorf("after a message of %v a task: %d a message, want %d", step.took, n, step.want)
		}
	}
}

// A message of several that fails as a whole, but not withdrawn, sends its tasks again alone;
// a message of one, or a withdrawn one, gives each task the error.
func TestClusterMessageFailed(t *testing.T) {
	pool, err := objects.NewPool(objects.PoolConfig{Processes: 1})
	if err != nil {
		t.Fatal(err)
	}
	cp := &clusterPool{hp: &hostPool{Pool: pool}, lanes: 1, timings: map[uint64]*taskTimes{}}
	tasks := func(n int) []*slotTask {
		var ts []*slotTask
		for range n {
			ts = append(ts, &slotTask{funcID: 1, done: make(chan icluster.ItemResult, 1)})
		}
		return ts
	}
	lost := icluster.Result{Err: "cluster: task 3 was handed to a worker 5 times and its worker was lost each time; it is not run again"}
	for _, c := range []struct {
		what      string
		n         int
		withdrawn bool
		requeued  int
	}{
		{"a message of three, lost", 3, false, 3},
		{"a message of one, lost", 1, false, 0},
		{"a message of three, withdrawn", 3, true, 0},
	} {
		ts := tasks(c.n)
		cp.queue, cp.out, cp.outTasks = nil, cp.lanes+1, c.n // finish's send then sends nothing
		cp.finish(ts, lost, c.withdrawn)
		if len(cp.queue) != c.requeued {
			t.Errorf("%s: %d tasks queued again, want %d", c.what, len(cp.queue), c.requeued)
		}
		for _, st := range ts {
			select {
			case r := <-st.done:
				if c.requeued > 0 || r.Err != lost.Err {
					t.Errorf("%s: a task got %q", c.what, r.Err)
				}
			default:
				if c.requeued == 0 || !st.alone {
					t.Errorf("%s: a task got no result and alone is %v", c.what, st.alone)
				}
			}
		}
	}
	// A message bounded by what the server takes: the pool's payload and function leave room
	// for two tasks of these arguments.
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.queue, cp.out, cp.outTasks = nil, 0, 0
	cp.maxBytes, cp.payload = 1000, make([]byte, 600)
	fn := pool.AddFunction(make([]byte, 50))
	cp.timed(fn, time.Microsecond)
	for range 10 {
		cp.queue = append(cp.queue, &slotTask{funcID: fn, args: make([]byte, 100)})
	}
	if _, tasks := cp.nextMessage(); len(tasks) != 2 {
		t.Errorf("a message of %d tasks of 100 bytes where 286 are left, want 2", len(tasks))
	}
}

// A worker's result keeps the items that fit in what the server takes, and the run sends the
// others again; a first item too large alone fails, saying so and naming the worker.
func TestClusterResultFits(t *testing.T) {
	cw := &ClusterWorker{name: "here:1"}
	items := func(sizes ...int) *icluster.PoolResult {
		res := &icluster.PoolResult{}
		for _, n := range sizes {
			res.Items = append(res.Items, icluster.ItemResult{Data: make([]byte, n)})
		}
		return res
	}
	res := items(100, 100, 100)
	whole := len(res.Append(nil))
	if dropped := cw.fitResult(res, whole); dropped != 0 || len(res.Items) != 3 {
		t.Errorf("a result of %d bytes within %d: %d dropped, %d kept", whole, whole, dropped, len(res.Items))
	}
	if dropped := cw.fitResult(res, whole-50); dropped != 1 || len(res.Items) != 2 || len(res.Append(nil)) > whole-50 {
		t.Errorf("within %d: %d dropped, %d kept, want 1 and 2", whole-50, dropped, len(res.Items))
	}
	res = items(1000, 10)
	if dropped := cw.fitResult(res, 500); dropped != 1 || len(res.Items) != 1 || res.Items[0].Data != nil ||
		res.Items[0].Err != "the task's result is 1000 bytes, more than the 500 the cluster's server takes in a message\n(on cluster worker here:1)" {
		t.Errorf("a first item too large: %d dropped, items %+v", dropped, res.Items)
	}
}
