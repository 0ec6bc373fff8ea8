package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// The host owns every shared object of a run in one registry. This file
// makes them and holds what the handlers of their operations share (see
// op_handlers.go).

// NewObject implements vm.Runtime for the main script.
func (h mainRuntime) NewObject(kind string, args vm.ObjectArgs) ([]uint64, error) {
	return h.newObject(objects.MainScript, kind, args)
}

// Invoke implements vm.Runtime for the main script.
func (h mainRuntime) Invoke(ctx context.Context, call vm.ObjectCall) (vm.ObjectReply, error) {
	return h.invoke(ctx, objects.MainScript, call, nil)
}

func (h *Host) newObject(owner objects.Owner, kind string, args vm.ObjectArgs) ([]uint64, error) {
	var obj any
	switch kind {
	case "Lock", "RLock":
		var l objects.Locker
		if kind == "RLock" {
			l = objects.NewRLock()
		} else {
			l = objects.NewLock()
		}
		id := h.objects.AddHeld(l, owner)
		l.Share(h.values.RMutex(id)) // no one has the id yet
		return []uint64{id}, nil
	case "Semaphore", "BoundedSemaphore":
		s := objects.NewSemaphore(int(args.Count), args.Bounded)
		id := h.objects.AddHeld(s, owner)
		s.Share(h.values.Semaphore(id)) // no one has the id yet
		return []uint64{id}, nil
	case "Event":
		obj = objects.NewEvent()
	case "Condition":
		var lock objects.Locker
		if args.Lock != 0 {
			var err error
			if lock, err = objects.Lookup[objects.Locker](h.objects, args.Lock); err != nil {
				return nil, err
			}
		}
		c := &hostCondition{Condition: objects.NewCondition(lock), lockID: args.Lock}
		id := h.objects.AddHeld(c, owner)
		if c.lockID == 0 {
			c.lockID = id // its own; no one has the id yet
			c.Locker().Share(h.values.RMutex(id))
		}
		return []uint64{id}, nil
	case "Barrier":
		obj = objects.NewBarrier(int(args.Parties), objects.Wait(args.Timeout))
	case "Queue":
		obj = objects.NewQueue(int(args.MaxSize))
	case "JoinableQueue":
		obj = objects.NewJoinableQueue(int(args.MaxSize))
	case "Value":
		v := objects.NewValue(content(args.Initial))
		id := h.objects.AddHeld(v, owner)
		v.Share(h.values.Slot(id)) // no one has the id yet
		v.Lock().Share(h.values.RMutex(id))
		return []uint64{id}, nil
	case "Pool":
		id, err := h.newPool(owner, args.Pool)
		if err != nil {
			return nil, err
		}
		return []uint64{id}, nil
	case "Connection":
		a, b, err := objects.NewPipe(args.Duplex, args.Capacity)
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
		adjusted[i] = objects.Change(c) // the same fields: a hold change as the registry counts it
	}
	h.objects.Adjust(owner, adjusted)
}

// semaphoreLike is what Lock, RLock and Semaphore share.
type semaphoreLike interface {
	Acquire(ctx context.Context, owner objects.Owner, w objects.Wait) (ok, abandoned bool, err error)
	Release(owner objects.Owner) error
}

// acquire acquires l for the caller. lock is the id of the Lock or RLock
// that l is (a Condition's may be another object's, a Value's its own), 0
// for a semaphore: a successful acquire replies it as Lock, so that a child
// can count what it holds of each lock and post the releases that cannot
// fail (ops.WhenHeld).
func acquire(c *opCall, l semaphoreLike, lock uint64) (vm.ObjectReply, error) {
	ok, abandoned, err := l.Acquire(c.ctx, c.owner, c.w)
	r := vm.ObjectReply{OK: ok}
	if ok {
		r.Lock = lock
	}
	if abandoned {
		r.Status = "abandoned"
	}
	return r, err
}

// release releases l for the caller; lock is as for acquire.
func release(c *opCall, l semaphoreLike, lock uint64) (vm.ObjectReply, error) {
	err := l.Release(c.owner)
	if errors.Is(err, objects.ErrNotHeld) {
		err = errors.New("cannot release what this process does not hold")
	} else if errors.Is(err, objects.ErrTooManyReleases) {
		err = errors.New("released more times than acquired")
	}
	return vm.ObjectReply{Lock: lock}, err
}

// hostCondition is a Condition and the id of its lock: the Lock or RLock it
// was made with, or its own.
type hostCondition struct {
	*objects.Condition
	lockID uint64
}

// conditionError is a Condition's error as a script sees it.
func conditionError(err error) error {
	if errors.Is(err, objects.ErrNotHeld) {
		return errors.New("the condition's lock is not held by this process")
	}
	return err
}

// queuePut puts an item; the reply's Maxsize tells a child that the queue is
// unbounded, so that it batches its puts (ops.Batched).
func queuePut(c *opCall, q *objects.Queue) (vm.ObjectReply, error) {
	err := q.Put(c.ctx, c.owner, c.call.Value.Data, c.w)
	switch {
	case errors.Is(err, objects.ErrFull):
		return vm.ObjectReply{Status: "full", Maxsize: int64(q.Maxsize())}, nil
	case errors.Is(err, objects.ErrClosed):
		return vm.ObjectReply{}, errClosedQueue
	}
	return vm.ObjectReply{OK: err == nil, Maxsize: int64(q.Maxsize())}, err
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
