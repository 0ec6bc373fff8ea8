package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/mphost/mphost/internal/child"
	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// The host owns every shared object of a run in one registry. This file
// turns the script package's calls (from the main script directly, from
// children over RPC) into operations on them, and their errors into what
// Lua sees: a status ("full", "empty", "closed", "abandoned") for outcomes a
// script handles, an error for mistakes, which the script raises.

// NewObject implements vm.Runtime for the main script.
func (h mainRuntime) NewObject(kind string, args vm.ObjectArgs) ([]uint64, error) {
	return h.newObject(objects.MainScript, kind, args)
}

// Invoke implements vm.Runtime for the main script.
func (h mainRuntime) Invoke(ctx context.Context, call vm.ObjectCall) (vm.ObjectReply, error) {
	return h.invoke(ctx, objects.MainScript, call)
}

func (h *Host) newObject(owner objects.Owner, kind string, args vm.ObjectArgs) ([]uint64, error) {
	var obj any
	switch kind {
	case "Lock":
		obj = objects.NewLock()
	case "RLock":
		obj = objects.NewRLock()
	case "Semaphore", "BoundedSemaphore":
		obj = objects.NewSemaphore(int(args.N), args.Flag)
	case "Event":
		obj = objects.NewEvent()
	case "Condition":
		var lock objects.Locker
		if args.ID != 0 {
			var err error
			if lock, err = objects.Lookup[objects.Locker](h.objects, args.ID); err != nil {
				return nil, err
			}
		}
		c := &hostCondition{Condition: objects.NewCondition(lock), lockID: args.ID}
		id := h.objects.AddHeld(c, owner)
		if c.lockID == 0 {
			c.lockID = id // its own; no one has the id yet
		}
		return []uint64{id}, nil
	case "Barrier":
		obj = objects.NewBarrier(int(args.N), objects.Wait(args.Wait))
	case "Queue":
		obj = objects.NewQueue(int(args.N))
	case "JoinableQueue":
		obj = objects.NewJoinableQueue(int(args.N))
	case "Value":
		v := objects.NewValue(content(args.Data))
		id := h.objects.AddHeld(v, owner)
		v.Share(h.values.Slot(id)) // no one has the id yet
		return []uint64{id}, nil
	case "Pool":
		id, err := h.newPool(owner, args)
		if err != nil {
			return nil, err
		}
		return []uint64{id}, nil
	case "Progress": // a child's pool work: the host draws it
		bar := mainRuntime{h}.StartProgress(string(args.Data.Data), int(args.N), args.Flag)
		if bar == vm.NoProgress {
			return nil, nil // nothing to draw: the child draws nothing either
		}
		return []uint64{h.objects.Add(&childProgress{bar})}, nil
	case "Connection":
		a, b, err := objects.NewPipe(args.Flag, args.N)
		if err != nil {
			return nil, err
		}
		ids := []uint64{h.objects.AddHeld(a, owner), h.objects.AddHeld(b, owner)}
		for i, end := range []*objects.PipeEnd{a, b} {
			end.Share(h.values.Word(ids[i])) // no one has the ids yet
		}
		return ids, nil
	default:
		return nil, fmt.Errorf("no shared object of kind %q", kind)
	}
	return []uint64{h.objects.AddHeld(obj, owner)}, nil
}

func content(v vm.Value) objects.Content {
	if v.IsNumber {
		return objects.NumberContent(v.Number)
	}
	return objects.EncodedContent(v.Data)
}

func fromContent(c objects.Content) vm.Value {
	return vm.Value{Data: c.Encoded, Number: c.Number, IsNumber: c.IsNumber}
}

// Hold implements vm.Holder for the main script.
func (h mainRuntime) Hold(changes []vm.HoldChange) error {
	h.adjustHolds(objects.MainScript, changes)
	return nil
}

// adjustHolds applies what owner reports it holds; the objects that nothing
// holds any more are freed.
func (h *Host) adjustHolds(owner objects.Owner, changes []vm.HoldChange) {
	adjusted := make([]objects.Change, len(changes))
	for i, c := range changes {
		adjusted[i] = objects.Change{ID: c.ID, Held: c.Held, Transit: c.Transit}
	}
	h.objects.Adjust(owner, adjusted)
}

// invoke performs one operation for owner.
func (h *Host) invoke(ctx context.Context, owner objects.Owner, call vm.ObjectCall) (vm.ObjectReply, error) {
	if call.Op == child.HoldsOp && call.ID == 0 {
		changes, err := child.ParseHoldChanges(call.Value.Data)
		if err != nil {
			return vm.ObjectReply{}, err
		}
		h.adjustHolds(owner, changes)
		return vm.ObjectReply{}, nil
	}
	obj, err := h.objects.Get(call.ID)
	if err != nil {
		return vm.ObjectReply{}, err
	}
	w := objects.Wait(call.Wait)
	switch o := obj.(type) {
	case objects.Locker:
		return lockerCall(ctx, owner, o, call.ID, call.Op, w)
	case *objects.Semaphore:
		if call.Op == "get_value" {
			return vm.ObjectReply{N: int64(o.Value())}, nil
		}
		return lockerCall(ctx, owner, o, 0, call.Op, w)
	case *objects.Event:
		return eventCall(ctx, o, call.Op, w)
	case *hostCondition:
		return conditionCall(ctx, owner, o, call, w)
	case *objects.Barrier:
		return barrierCall(ctx, owner, o, call.Op, w)
	case *objects.JoinableQueue:
		switch call.Op {
		case "task_done":
			if err := o.TaskDone(); errors.Is(err, objects.ErrTooManyTaskDone) {
				return vm.ObjectReply{}, errors.New("task_done() called too many times (more than items put)")
			} else if err != nil {
				return vm.ObjectReply{}, err
			}
			return vm.ObjectReply{}, nil
		case "join":
			return vm.ObjectReply{}, o.Join(ctx)
		}
		return queueCall(ctx, owner, &o.Queue, call, w)
	case *objects.Queue:
		return queueCall(ctx, owner, o, call, w)
	case *objects.PipeEnd:
		if call.Op == "close" {
			h.objects.Close(owner, call.ID)
			return vm.ObjectReply{}, nil
		}
		return pipeCall(ctx, owner, o, call, w)
	case *objects.Value:
		return valueCall(ctx, owner, o, call, w)
	case *hostPool:
		return poolCall(ctx, owner, o, call, w)
	case *childProgress:
		return o.call(h, call)
	}
	return vm.ObjectReply{}, fmt.Errorf("object %d has no operation %q", call.ID, call.Op)
}

// semaphoreLike is what Lock, RLock and Semaphore share.
type semaphoreLike interface {
	Acquire(ctx context.Context, owner objects.Owner, w objects.Wait) (ok, abandoned bool, err error)
	Release(owner objects.Owner) error
}

// lockerCall performs an operation of a lock or a semaphore. lock is the
// id of the Lock or RLock that l is (a Condition's may be another object's,
// a Value's its own), 0 for a semaphore: a successful acquire or release
// replies it as N, so that a child can count what it holds of each lock and
// post the releases that cannot fail (see child.Remote).
func lockerCall(ctx context.Context, owner objects.Owner, l semaphoreLike, lock uint64, op string, w objects.Wait) (vm.ObjectReply, error) {
	switch op {
	case "acquire":
		ok, abandoned, err := l.Acquire(ctx, owner, w)
		r := vm.ObjectReply{OK: ok}
		if ok {
			r.N = int64(lock)
		}
		if abandoned {
			r.Status = "abandoned"
		}
		return r, err
	case "release":
		err := l.Release(owner)
		if errors.Is(err, objects.ErrNotHeld) {
			err = errors.New("cannot release what this process does not hold")
		} else if errors.Is(err, objects.ErrTooManyReleases) {
			err = errors.New("released more times than acquired")
		}
		return vm.ObjectReply{N: int64(lock)}, err
	case "locked":
		if locker, ok := l.(objects.Locker); ok {
			return vm.ObjectReply{OK: locker.Locked()}, nil
		}
	}
	return vm.ObjectReply{}, fmt.Errorf("no operation %q", op)
}

func eventCall(ctx context.Context, e *objects.Event, op string, w objects.Wait) (vm.ObjectReply, error) {
	switch op {
	case "set":
		e.Set()
	case "clear":
		e.Clear()
	case "is_set":
		return vm.ObjectReply{OK: e.IsSet()}, nil
	case "wait":
		ok, err := e.Wait(ctx, w)
		return vm.ObjectReply{OK: ok}, err
	default:
		return vm.ObjectReply{}, fmt.Errorf("no operation %q", op)
	}
	return vm.ObjectReply{}, nil
}

// hostCondition is a Condition and the id of its lock: the Lock or RLock it
// was made with, or its own.
type hostCondition struct {
	*objects.Condition
	lockID uint64
}

func conditionCall(ctx context.Context, owner objects.Owner, c *hostCondition, call vm.ObjectCall, w objects.Wait) (vm.ObjectReply, error) {
	var err error
	switch call.Op {
	case "acquire", "release":
		return lockerCall(ctx, owner, c.Locker(), c.lockID, call.Op, w)
	case "wait":
		var ok bool
		ok, err = c.Wait(ctx, owner, w)
		if err == nil {
			return vm.ObjectReply{OK: ok}, nil
		}
	case "notify":
		err = c.Notify(owner, int(call.N))
	case "notify_all":
		err = c.NotifyAll(owner)
	default:
		return vm.ObjectReply{}, fmt.Errorf("no operation %q", call.Op)
	}
	if errors.Is(err, objects.ErrNotHeld) {
		err = errors.New("the condition's lock is not held by this process")
	}
	return vm.ObjectReply{}, err
}

func barrierCall(ctx context.Context, owner objects.Owner, b *objects.Barrier, op string, w objects.Wait) (vm.ObjectReply, error) {
	switch op {
	case "wait":
		index, err := b.Wait(ctx, owner, w)
		if errors.Is(err, objects.ErrBroken) {
			err = errors.New("the barrier is broken")
		}
		return vm.ObjectReply{N: int64(index)}, err
	case "reset":
		b.Reset()
	case "abort":
		b.Abort()
	case "parties":
		return vm.ObjectReply{N: int64(b.Parties())}, nil
	case "n_waiting":
		return vm.ObjectReply{N: int64(b.NWaiting())}, nil
	case "broken":
		return vm.ObjectReply{OK: b.Broken()}, nil
	default:
		return vm.ObjectReply{}, fmt.Errorf("no operation %q", op)
	}
	return vm.ObjectReply{}, nil
}

func queueCall(ctx context.Context, owner objects.Owner, q *objects.Queue, call vm.ObjectCall, w objects.Wait) (vm.ObjectReply, error) {
	switch call.Op {
	case "put":
		// N tells the caller the queue's maxsize: a child batches its puts
		// into an unbounded queue (see PutBatch).
		err := q.Put(ctx, owner, call.Value.Data, w)
		switch {
		case errors.Is(err, objects.ErrFull):
			return vm.ObjectReply{Status: "full", N: int64(q.Maxsize())}, nil
		case errors.Is(err, objects.ErrClosed):
			return vm.ObjectReply{}, errClosedQueue
		}
		return vm.ObjectReply{OK: err == nil, N: int64(q.Maxsize())}, err
	case "get":
		item, err := q.Get(ctx, w)
		return itemReply(item, err)
	case "qsize":
		return vm.ObjectReply{N: int64(q.Qsize())}, nil
	case "empty":
		return vm.ObjectReply{OK: q.Empty()}, nil
	case "full":
		return vm.ObjectReply{OK: q.Full()}, nil
	case "close":
		q.Close()
		return vm.ObjectReply{}, nil
	}
	return vm.ObjectReply{}, fmt.Errorf("no operation %q", call.Op)
}

var errClosedQueue = errors.New("the queue is closed")

// putBatch puts a child's batched items, in order, each into its queue. The
// items for a queue that is closed are dropped and counted.
func (h *Host) putBatch(ctx context.Context, owner objects.Owner, queueIDs []uint64, items [][]byte) (map[uint64]int64, error) {
	var dropped map[uint64]int64
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && queueIDs[end] == queueIDs[start] {
			end++
		}
		q, err := h.objects.Queue(queueIDs[start])
		if err != nil {
			return dropped, err
		}
		if err := q.PutBatch(ctx, owner, items[start:end]); err != nil {
			if !errors.Is(err, objects.ErrClosed) {
				return dropped, err
			}
			if dropped == nil {
				dropped = make(map[uint64]int64)
			}
			dropped[queueIDs[start]] += int64(end - start)
		}
		start = end
	}
	return dropped, nil
}

// itemReply is what a get or recv returns: the item, or the status that
// says why there is none.
func itemReply(item []byte, err error) (vm.ObjectReply, error) {
	switch {
	case errors.Is(err, objects.ErrEmpty):
		return vm.ObjectReply{Status: "empty"}, nil
	case errors.Is(err, objects.ErrClosed):
		return vm.ObjectReply{Status: "closed"}, nil
	case err != nil:
		return vm.ObjectReply{}, err
	}
	return vm.ObjectReply{OK: true, Value: vm.Value{Data: item}}, nil
}

func pipeCall(ctx context.Context, owner objects.Owner, e *objects.PipeEnd, call vm.ObjectCall, w objects.Wait) (vm.ObjectReply, error) {
	switch call.Op {
	case "send":
		return vm.ObjectReply{}, pipeError(true, e.Send(ctx, owner, call.Value.Data))
	case "recv":
		item, err := e.Recv(ctx, owner, w)
		if errors.Is(err, objects.ErrClosed) {
			return itemReply(item, err)
		}
		return itemReply(item, pipeError(false, err))
	case "poll":
		ok, err := e.Poll(ctx, owner, w)
		if errors.Is(err, objects.ErrClosed) {
			err = errors.New("this end of the connection is closed")
		}
		return vm.ObjectReply{OK: ok}, pipeError(false, err)
	case "relay":
		// A child's send that its socket could not take (see package pipesock).
		return vm.ObjectReply{}, pipeError(true, e.Relay(ctx, owner, call.Value.Data))
	case "fetch":
		// A large message, which a child's receive found held here.
		return itemReply(e.Take(uint64(call.N)))
	}
	return vm.ObjectReply{}, fmt.Errorf("no operation %q", call.Op)
}

// pipeError is the error of a pipe operation (a send, or a receive or poll) as a script sees
// it.
func pipeError(sends bool, err error) error {
	switch {
	case errors.Is(err, objects.ErrUseAfterClose):
		return errors.New("this process closed this end of the connection (use after close)")
	case errors.Is(err, objects.ErrClosed):
		return errors.New("the connection is closed")
	case errors.Is(err, objects.ErrWrongDirection) && sends:
		return errors.New("this end of a one-way pipe only receives")
	case errors.Is(err, objects.ErrWrongDirection):
		return errors.New("this end of a one-way pipe only sends")
	}
	return err
}

func valueCall(ctx context.Context, owner objects.Owner, v *objects.Value, call vm.ObjectCall, w objects.Wait) (vm.ObjectReply, error) {
	switch call.Op {
	case "get":
		return vm.ObjectReply{OK: true, Value: fromContent(v.Get())}, nil
	case "set":
		v.Set(content(call.Value))
		return vm.ObjectReply{}, nil
	case "add":
		n, err := v.Add(owner, call.Value.Number)
		if errors.Is(err, objects.ErrNotNumber) {
			err = errors.New("the value is not a number")
		}
		return vm.ObjectReply{Value: vm.Value{Number: n, IsNumber: true}}, err
	case "acquire", "release":
		return lockerCall(ctx, owner, v.Lock(), call.ID, call.Op, w)
	}
	return vm.ObjectReply{}, fmt.Errorf("no operation %q", call.Op)
}
