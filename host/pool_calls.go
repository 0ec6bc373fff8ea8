package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// A Pool is a shared object like the others, with one more duty for the
// host: starting its worker processes. poolSpawner does it for one pool:
// every worker is a daemonic child of the pool's owner, a start of kind
// vm.StartPoolWorker with the payload the owner's VM encoded (the pool, its
// initializer and initargs).
type poolSpawner struct {
	h       *Host
	owner   objects.Owner
	pool    *objects.Pool
	payload []byte
	link    *runLink // on a cluster worker, the run the pool works for
}

// SpawnWorker implements objects.WorkerSpawner.
func (s *poolSpawner) SpawnWorker() (objects.Owner, string, error) {
	var parent *process
	if s.owner != objects.MainScript {
		p, err := s.h.procs.get(uint64(s.owner))
		if err != nil {
			return 0, "", fmt.Errorf("the pool's owner is gone: %w", err)
		}
		parent = p
	}
	name := fmt.Sprintf("PoolWorker-%d", s.h.poolWorkers.Add(1))
	st, err := s.h.spawnFor(context.Background(), parent, vm.SpawnRequest{Name: name, Daemon: true, Kind: vm.StartPoolWorker, Payload: s.payload}, s.pool, s.link)
	if err != nil {
		return 0, "", err
	}
	return objects.Owner(st.ID), fmt.Sprintf("%s (pid %d)", name, st.Pid), nil
}

// KillWorker implements objects.WorkerSpawner.
func (s *poolSpawner) KillWorker(w objects.Owner) {
	s.h.procs.signal(uint64(w), syscall.SIGKILL)
}

// hostPool is what the registry holds for a Pool: the engine, its
// spawner, and the progress bars of its batches.
type hostPool struct {
	*objects.Pool
	spawner  *poolSpawner
	cluster  *clusterPool // its spawner instead, in a run with a cluster
	id       uint64
	progress bool // mp.Pool{progress = true}

	mu    sync.Mutex
	bars  map[uint64]*barProgress // batch -> its bar, for the batches drawn
	shown map[uint64]shownTask    // task -> what it adds to its batch's bar
}

// shownTask is a task of a batch whose progress is drawn.
type shownTask struct {
	bar   *barProgress
	items int
}

// showBatch draws the progress of a new batch of items, if it is to be
// drawn (see Host.startProgress).
func (p *hostPool) showBatch(h *Host, batch uint64, label string, items int) {
	bar := h.startProgress(label, items, p.progress)
	if bar == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bars == nil {
		p.bars, p.shown = make(map[uint64]*barProgress), make(map[uint64]shownTask)
	}
	p.bars[batch] = bar
}

// showTask counts a task's items on its batch's bar when it finishes.
func (p *hostPool) showTask(batch, task uint64, items int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bar := p.bars[batch]; bar != nil {
		p.shown[task] = shownTask{bar, items}
	}
}

// taskFinished advances the bar of a finished task's batch.
func (p *hostPool) taskFinished(task uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.shown[task]; ok {
		delete(p.shown, task)
		t.bar.bar.Add(t.items)
	}
}

// endBars ends the bars of batch, or of every batch when all is true.
func (p *hostPool) endBars(batch uint64, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for b, bar := range p.bars {
		if !all && b != batch {
			continue
		}
		bar.bar.Finish()
		delete(p.bars, b)
		for task, t := range p.shown {
			if t.bar == bar {
				delete(p.shown, task)
			}
		}
	}
}

func (h *Host) newPool(owner objects.Owner, args vm.PoolArgs) (uint64, error) {
	cfg := objects.PoolConfig{
		Processes:        int(args.Processes),
		MaxTasksPerChild: int(args.MaxTasksPerChild),
		TaskTimeout:      args.TaskTimeout.Timeout,
	}
	h.mu.Lock()
	cr := h.cluster.run
	h.mu.Unlock()
	if cr != nil {
		// They hold on each cluster worker, whose pool enforces them.
		cfg.MaxTasksPerChild, cfg.TaskTimeout = 0, 0
		cfg.Processes = clusterSlots(cfg.Processes)
	}
	pool, err := objects.NewPool(cfg)
	if err != nil {
		return 0, err
	}
	// Freed as other objects are, once closed or terminated (its workers,
	// which hold it, then end) and dropped by its owner.
	hp := &hostPool{Pool: pool, spawner: &poolSpawner{h: h, owner: owner, pool: pool}, progress: args.Progress}
	hp.id = h.objects.AddHeld(hp, owner)
	if cr != nil {
		hp.cluster = cr.newClusterPool(hp, int(args.Processes), int(args.MaxTasksPerChild), args.TaskTimeout.Timeout)
	}
	h.mu.Lock()
	h.pools = append(h.pools, hp)
	h.mu.Unlock()
	return hp.id, nil
}

// poolFreed forgets the pool with the given id, if id is a pool's: the
// Registry has freed it. It runs under the Registry's lock (OnFree).
func (h *Host) poolFreed(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pools = slices.DeleteFunc(h.pools, func(p *hostPool) bool { return p.id == id })
}

// ownerDied terminates the pools of a process that has ended, as Python's
// pools end with the process that made them.
func (h *Host) ownerDied(owner objects.Owner) {
	h.mu.Lock()
	var mine []*hostPool
	kept := h.pools[:0]
	for _, p := range h.pools {
		if p.spawner.owner == owner {
			mine = append(mine, p)
		} else {
			kept = append(kept, p)
		}
	}
	h.pools = kept
	h.mu.Unlock()
	for _, p := range mine {
		p.Terminate()
	}
}

// Terminate ends the pool's workers and tasks, as objects.Pool's does, its
// messages out on a cluster, and the progress bars of its batches.
func (p *hostPool) Terminate() {
	if p.cluster != nil {
		p.cluster.stopSending() // before its slots go, who would send the tasks left
	}
	p.Pool.Terminate()
	if p.cluster != nil {
		p.cluster.withdraw() // after the tasks failed, so that they fail as terminated
	}
	p.endBars(0, true)
}

// poolStart starts the pool's workers. The payload stands for as long as
// the pool: it holds what the initializer and initargs carry until the pool
// is freed, but not the pool itself, whose handle it carries too.
func poolStart(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	p.spawner.payload = c.call.Value.Data
	p.Hold(c.call.Value.Data)
	c.h.objects.Adjust(c.owner, []objects.Change{{ID: p.id, Transit: -1}})
	if p.cluster != nil {
		if err := refuseHandles("the initializer and initargs", c.call.Value.Data, p.id); err != nil {
			p.Terminate()
			return vm.ObjectReply{}, err
		}
		p.cluster.payload = c.call.Value.Data
		return done(p.Start(p.cluster))
	}
	return done(p.Start(p.spawner))
}

// poolBatch opens a batch of tasks for the function in the call's Value.
func poolBatch(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	if p.cluster != nil {
		if err := refuseHandles("the function's upvalues", c.call.Value.Data, 0); err != nil {
			c.h.dropCarried(c.call.Value.Data)
			return vm.ObjectReply{}, err
		}
	}
	fn := p.AddFunction(c.call.Value.Data)
	batch, err := p.NewBatch(fn) // takes over AddFunction's hold
	if errors.Is(err, objects.ErrClosed) {
		err = errors.New("the pool is closed")
	}
	if err == nil && c.call.Count > 0 {
		p.showBatch(c.h, batch, c.call.Method, int(c.call.Count))
	}
	return vm.ObjectReply{Batch: batch, Func: fn}, err
}

// poolSubmit adds a task to a batch.
func poolSubmit(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	if p.cluster != nil {
		if err := refuseHandles("the task's arguments", c.call.Value.Data, 0); err != nil {
			c.h.dropCarried(c.call.Value.Data)
			return vm.ObjectReply{}, err
		}
	}
	task, err := p.Submit(c.call.Batch, c.call.Func, c.call.Value.Data)
	if errors.Is(err, objects.ErrClosed) {
		err = errors.New("the pool is closed")
	}
	if err == nil {
		p.showTask(c.call.Batch, task, int(c.call.Count))
	}
	return vm.ObjectReply{Task: task}, err
}

// poolResult waits for a task's outcome.
func poolResult(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	defer p.awaiting()()
	r, err := p.Result(c.ctx, c.call.Task, c.w)
	return taskReply(c.call.Task, r, err)
}

// poolNextDone waits for the next task of a batch to finish.
func poolNextDone(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	defer p.awaiting()()
	task, r, err := p.NextDone(c.ctx, c.call.Batch, c.w)
	return taskReply(task, r, err)
}

// awaiting marks a caller of the pool waiting for results, until the function it returns is
// called: a pool of a cluster run then sends the tasks it holds back for more (reading).
func (p *hostPool) awaiting() (done func()) {
	if p.cluster == nil {
		return func() {}
	}
	return p.cluster.reading()
}

// poolFinished replies, of the batch ids in the call's Value (uvarints),
// those finished.
func poolFinished(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	var finished []byte
	for data := c.call.Value.Data; len(data) > 0; {
		batch, n := binary.Uvarint(data)
		if n <= 0 {
			return vm.ObjectReply{}, errors.New("finished: malformed batch ids")
		}
		if p.Finished(batch) {
			finished = binary.AppendUvarint(finished, batch)
		}
		data = data[n:]
	}
	return vm.ObjectReply{OK: true, Value: vm.Value{Data: finished}}, nil
}

// poolDoneNext is a worker's result and its next task in one call.
func poolDoneNext(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	if err := p.Done(c.owner, c.call.Task, c.call.Value.Data, c.call.ErrText); err == nil {
		p.taskFinished(c.call.Task)
	} else if !errors.Is(err, objects.ErrNoTask) {
		return vm.ObjectReply{}, err // ErrNoTask: the task timed out meanwhile
	}
	return nextTask(c, p)
}

// poolFunctionBytes is a worker's, for a function it no longer keeps.
func poolFunctionBytes(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	data, ok := p.Function(c.call.Func)
	return vm.ObjectReply{OK: ok, FuncCode: data}, nil
}

// nextTask waits for a worker's next task; Status "exit" tells the worker
// to end (the pool retires it, or is closed or terminated).
func nextTask(c *opCall, p *hostPool) (vm.ObjectReply, error) {
	t, err := p.Next(c.ctx, c.owner, c.w)
	if err != nil {
		if c.ctx.Err() != nil {
			return vm.ObjectReply{}, err
		}
		return vm.ObjectReply{Status: "exit"}, nil
	}
	return vm.ObjectReply{OK: true, Task: t.ID, Func: t.FuncID, FuncCode: t.Func, Value: vm.Value{Data: t.Args}}, nil
}

// taskReply is a task's outcome as Lua sees it: its results, its error, or
// a timeout.
func taskReply(task uint64, r objects.TaskResult, err error) (vm.ObjectReply, error) {
	switch {
	case errors.Is(err, objects.ErrEmpty):
		return vm.ObjectReply{Status: "timeout"}, nil
	case err != nil:
		return vm.ObjectReply{}, err
	case r.Err != "":
		// Data, when the worker sent it, holds each item's outcome.
		return vm.ObjectReply{Task: task, Status: "error", ErrText: r.Err, Value: vm.Value{Data: r.Data}}, nil
	}
	return vm.ObjectReply{OK: true, Task: task, Value: vm.Value{Data: r.Data}}, nil
}
