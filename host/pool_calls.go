package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// A Pool is a shared object like the others, with one more duty for the
// host: starting its worker processes. poolSpawner does it for one pool:
// every worker is a daemonic child of the pool's owner running the payload
// the owner's VM encoded (mp._pool_worker with the initializer).
type poolSpawner struct {
	h       *Host
	owner   objects.Owner
	pool    *objects.Pool
	payload []byte
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
	st, err := s.h.spawnFor(context.Background(), parent, vm.SpawnRequest{Name: name, Daemon: true, Payload: s.payload}, s.pool)
	if err != nil {
		return 0, "", err
	}
	return objects.Owner(st.ID), fmt.Sprintf("%s (pid %d)", name, st.Pid), nil
}

// KillWorker implements objects.WorkerSpawner.
func (s *poolSpawner) KillWorker(w objects.Owner) {
	s.h.procs.signal(uint64(w), syscall.SIGKILL)
}

// hostPool is what the registry holds for a Pool: the engine and its spawner.
type hostPool struct {
	*objects.Pool
	spawner *poolSpawner
	id      uint64
}

func (h *Host) newPool(owner objects.Owner, args vm.ObjectArgs) (uint64, error) {
	pool, err := objects.NewPool(objects.PoolConfig{
		Processes:        int(args.N),
		MaxTasksPerChild: int(args.M),
		TaskTimeout:      args.Wait.Timeout,
	})
	if err != nil {
		return 0, err
	}
	// Freed as other objects are, once closed or terminated (its workers,
	// which hold it, then end) and dropped by its owner.
	hp := &hostPool{Pool: pool, spawner: &poolSpawner{h: h, owner: owner, pool: pool}}
	hp.id = h.objects.AddHeld(hp, owner)
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

// poolCall performs one operation on a pool: the owner's (start, map's
// tasks and results, close, ...) and its workers' (next, done).
func poolCall(ctx context.Context, owner objects.Owner, p *hostPool, call vm.ObjectCall, w objects.Wait) (vm.ObjectReply, error) {
	switch call.Op {
	case "start":
		// The payload stands for as long as the pool: it holds what the
		// initializer and initargs carry until the pool is freed, but not
		// the pool itself, whose handle it carries too.
		p.spawner.payload = call.Value.Data
		p.Hold(call.Value.Data)
		p.spawner.h.objects.Adjust(owner, []objects.Change{{ID: p.id, Transit: -1}})
		return vm.ObjectReply{}, p.Start(p.spawner)
	case "batch": // Value: the function of the call; N: the batch, M: the function's id
		fn := p.AddFunction(call.Value.Data)
		batch, err := p.NewBatch(fn) // takes over AddFunction's hold
		if errors.Is(err, objects.ErrClosed) {
			err = errors.New("the pool is closed")
		}
		return vm.ObjectReply{N: int64(batch), M: int64(fn)}, err
	case "function_bytes": // a worker's, for a function it no longer keeps
		data, ok := p.Function(uint64(call.N))
		return vm.ObjectReply{OK: ok, Aux: data}, nil
	case "submit":
		task, err := p.Submit(uint64(call.N), uint64(call.M), call.Value.Data)
		if errors.Is(err, objects.ErrClosed) {
			err = errors.New("the pool is closed")
		}
		return vm.ObjectReply{N: int64(task)}, err
	case "result":
		r, err := p.Result(ctx, uint64(call.N), w)
		return taskReply(uint64(call.N), r, err)
	case "next_done":
		task, r, err := p.NextDone(ctx, uint64(call.N), w)
		return taskReply(task, r, err)
	case "ready":
		return vm.ObjectReply{OK: p.Ready(uint64(call.N))}, nil
	case "finished": // Value: batch ids (uvarints); the reply's, those finished
		var finished []byte
		for data := call.Value.Data; len(data) > 0; {
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
	case "forget":
		p.Forget(uint64(call.N))
	case "close":
		p.Close()
	case "terminate":
		p.Terminate()
	case "join":
		return vm.ObjectReply{}, p.Join(ctx)
	case "next":
		return nextTask(ctx, owner, p, w)
	case "done_next": // a worker's result and its next task in one call
		if err := p.Done(owner, uint64(call.N), call.Value.Data, call.Text); err != nil && !errors.Is(err, objects.ErrNoTask) {
			return vm.ObjectReply{}, err // ErrNoTask: the task timed out meanwhile
		}
		return nextTask(ctx, owner, p, w)
	default:
		return vm.ObjectReply{}, fmt.Errorf("no operation %q", call.Op)
	}
	return vm.ObjectReply{}, nil
}

// nextTask waits for a worker's next task; Status "exit" tells the worker
// to end (the pool retires it, or is closed or terminated).
func nextTask(ctx context.Context, owner objects.Owner, p *hostPool, w objects.Wait) (vm.ObjectReply, error) {
	t, err := p.Next(ctx, owner, w)
	if err != nil {
		if ctx.Err() != nil {
			return vm.ObjectReply{}, err
		}
		return vm.ObjectReply{Status: "exit"}, nil
	}
	return vm.ObjectReply{OK: true, N: int64(t.ID), M: int64(t.FuncID), Aux: t.Func, Value: vm.Value{Data: t.Args}}, nil
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
		return vm.ObjectReply{N: int64(task), Status: "error", Text: r.Err, Value: vm.Value{Data: r.Data}}, nil
	}
	return vm.ObjectReply{OK: true, N: int64(task), Value: vm.Value{Data: r.Data}}, nil
}
