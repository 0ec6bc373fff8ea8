package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/mphost/mphost/internal/child"
	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/vm"
)

// The host serves every operation of internal/ops with the handler of its
// row in handlers: from the main script directly (mainRuntime.Invoke), from
// a child over its call socket (service.Invoke). A handler turns the
// objects' errors into what Lua sees: a status ("full", "empty", "closed",
// "abandoned") for outcomes a script handles, an error for mistakes, which
// the script raises. Adding an operation is its row in ops.Table and its
// handler here (TestEveryOpHasAHandler checks).

// opCall is one call being served.
type opCall struct {
	ctx   context.Context
	h     *Host
	owner objects.Owner
	call  vm.ObjectCall
	w     objects.Wait
	svc   *service // the child's service; nil for the main script
}

// handler serves one operation on obj, the object call.ID names (nil for
// a transport operation on no object).
type handler func(c *opCall, obj any) (vm.ObjectReply, error)

// on makes a handler of f for objects of type T: an object of another type
// has no such operation.
func on[T any](f func(c *opCall, o T) (vm.ObjectReply, error)) handler {
	return func(c *opCall, obj any) (vm.ObjectReply, error) {
		o, ok := obj.(T)
		if !ok {
			return vm.ObjectReply{}, fmt.Errorf("object %d has no operation %s", c.call.ID, c.call.Op)
		}
		return f(c, o)
	}
}

// onQueue makes a handler of f for a Queue or a JoinableQueue.
func onQueue(f func(c *opCall, q *objects.Queue) (vm.ObjectReply, error)) handler {
	return func(c *opCall, obj any) (vm.ObjectReply, error) {
		switch q := obj.(type) {
		case *objects.Queue:
			return f(c, q)
		case *objects.JoinableQueue:
			return f(c, &q.Queue)
		}
		return on(f)(c, obj)
	}
}

// done is the reply of an operation that returns nothing.
func done(err error) (vm.ObjectReply, error) { return vm.ObjectReply{}, err }

// isTrue is the reply of an operation whose result is a boolean.
func isTrue(ok bool) (vm.ObjectReply, error) { return vm.ObjectReply{OK: ok}, nil }

// count is the reply of an operation whose result is an integer.
func count(n int) (vm.ObjectReply, error) { return vm.ObjectReply{Result: int64(n)}, nil }

// handlers serve the rows of ops.Table, one each.
var handlers = [ops.NumOps]handler{
	ops.LockAcquire: on(func(c *opCall, l objects.Locker) (vm.ObjectReply, error) { return acquire(c, l, c.call.ID) }),
	ops.LockRelease: on(func(c *opCall, l objects.Locker) (vm.ObjectReply, error) { return release(c, l, c.call.ID) }),
	ops.LockLocked:  on(func(c *opCall, l objects.Locker) (vm.ObjectReply, error) { return isTrue(l.Locked()) }),

	ops.SemaphoreAcquire:  on(func(c *opCall, s *objects.Semaphore) (vm.ObjectReply, error) { return acquire(c, s, 0) }),
	ops.SemaphoreRelease:  on(func(c *opCall, s *objects.Semaphore) (vm.ObjectReply, error) { return release(c, s, 0) }),
	ops.SemaphoreGetValue: on(func(c *opCall, s *objects.Semaphore) (vm.ObjectReply, error) { return count(s.Value()) }),

	ops.EventSet:   on(func(c *opCall, e *objects.Event) (vm.ObjectReply, error) { e.Set(); return done(nil) }),
	ops.EventClear: on(func(c *opCall, e *objects.Event) (vm.ObjectReply, error) { e.Clear(); return done(nil) }),
	ops.EventIsSet: on(func(c *opCall, e *objects.Event) (vm.ObjectReply, error) { return isTrue(e.IsSet()) }),
	ops.EventWait: on(func(c *opCall, e *objects.Event) (vm.ObjectReply, error) {
		ok, err := e.Wait(c.ctx, c.w)
		return vm.ObjectReply{OK: ok}, err
	}),

	ops.ConditionAcquire: on(func(c *opCall, k *hostCondition) (vm.ObjectReply, error) { return acquire(c, k.Locker(), k.lockID) }),
	ops.ConditionRelease: on(func(c *opCall, k *hostCondition) (vm.ObjectReply, error) { return release(c, k.Locker(), k.lockID) }),
	ops.ConditionWait: on(func(c *opCall, k *hostCondition) (vm.ObjectReply, error) {
		ok, err := k.Wait(c.ctx, c.owner, c.w)
		return vm.ObjectReply{OK: ok}, conditionError(err)
	}),
	ops.ConditionNotify: on(func(c *opCall, k *hostCondition) (vm.ObjectReply, error) {
		return done(conditionError(k.Notify(c.owner, int(c.call.Count))))
	}),
	ops.ConditionNotifyAll: on(func(c *opCall, k *hostCondition) (vm.ObjectReply, error) {
		return done(conditionError(k.NotifyAll(c.owner)))
	}),

	ops.BarrierWait: on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) {
		index, err := b.Wait(c.ctx, c.owner, c.w)
		if errors.Is(err, objects.ErrBroken) {
			err = errors.New("the barrier is broken")
		}
		return vm.ObjectReply{Result: int64(index)}, err
	}),
	ops.BarrierReset:    on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) { b.Reset(); return done(nil) }),
	ops.BarrierAbort:    on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) { b.Abort(); return done(nil) }),
	ops.BarrierParties:  on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) { return count(b.Parties()) }),
	ops.BarrierNWaiting: on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) { return count(b.NWaiting()) }),
	ops.BarrierBroken:   on(func(c *opCall, b *objects.Barrier) (vm.ObjectReply, error) { return isTrue(b.Broken()) }),

	ops.QueuePut: onQueue(queuePut),
	ops.QueueGet: onQueue(func(c *opCall, q *objects.Queue) (vm.ObjectReply, error) {
		return itemReply(q.Get(c.ctx, c.w))
	}),
	ops.QueueQsize: onQueue(func(c *opCall, q *objects.Queue) (vm.ObjectReply, error) { return count(q.Qsize()) }),
	ops.QueueEmpty: onQueue(func(c *opCall, q *objects.Queue) (vm.ObjectReply, error) { return isTrue(q.Empty()) }),
	ops.QueueFull:  onQueue(func(c *opCall, q *objects.Queue) (vm.ObjectReply, error) { return isTrue(q.Full()) }),
	ops.QueueClose: onQueue(func(c *opCall, q *objects.Queue) (vm.ObjectReply, error) { q.Close(); return done(nil) }),
	ops.QueueTaskDone: on(func(c *opCall, q *objects.JoinableQueue) (vm.ObjectReply, error) {
		err := q.TaskDone()
		if errors.Is(err, objects.ErrTooManyTaskDone) {
			err = errors.New("task_done() called too many times (more than items put)")
		}
		return done(err)
	}),
	ops.QueueJoin: on(func(c *opCall, q *objects.JoinableQueue) (vm.ObjectReply, error) { return done(q.Join(c.ctx)) }),

	ops.ConnectionSend: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		return done(pipeError(true, e.Send(c.ctx, c.owner, c.call.Value.Data)))
	}),
	ops.ConnectionRecv: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		item, err := e.Recv(c.ctx, c.owner, c.w)
		if errors.Is(err, objects.ErrClosed) {
			return itemReply(item, err)
		}
		return itemReply(item, pipeError(false, err))
	}),
	ops.ConnectionPoll: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		ok, err := e.Poll(c.ctx, c.owner, c.w)
		if errors.Is(err, objects.ErrClosed) {
			err = errors.New("this end of the connection is closed")
		}
		return vm.ObjectReply{OK: ok}, pipeError(false, err)
	}),
	ops.ConnectionClose: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		c.h.objects.Close(c.owner, c.call.ID)
		return done(nil)
	}),

	ops.ValueGet: on(func(c *opCall, v *objects.Value) (vm.ObjectReply, error) {
		return vm.ObjectReply{OK: true, Value: fromContent(v.Get())}, nil
	}),
	ops.ValueSet: on(func(c *opCall, v *objects.Value) (vm.ObjectReply, error) {
		v.Set(content(c.call.Value))
		return done(nil)
	}),
	ops.ValueAdd: on(func(c *opCall, v *objects.Value) (vm.ObjectReply, error) {
		n, err := v.Add(c.owner, c.call.Value.Number)
		if errors.Is(err, objects.ErrNotNumber) {
			err = errors.New("the value is not a number")
		}
		return vm.ObjectReply{Value: vm.Value{Number: n, IsNumber: true}}, err
	}),
	ops.ValueAcquire: on(func(c *opCall, v *objects.Value) (vm.ObjectReply, error) { return acquire(c, v.Lock(), c.call.ID) }),
	ops.ValueRelease: on(func(c *opCall, v *objects.Value) (vm.ObjectReply, error) { return release(c, v.Lock(), c.call.ID) }),

	ops.PoolStart:    on(poolStart),
	ops.PoolBatch:    on(poolBatch),
	ops.PoolSubmit:   on(poolSubmit),
	ops.PoolResult:   on(poolResult),
	ops.PoolNextDone: on(poolNextDone),
	ops.PoolFinished: on(poolFinished),
	ops.PoolForget: on(func(c *opCall, p *hostPool) (vm.ObjectReply, error) {
		p.endBars(c.call.Batch, false)
		p.Forget(c.call.Batch)
		return done(nil)
	}),
	ops.PoolClose:     on(func(c *opCall, p *hostPool) (vm.ObjectReply, error) { p.Close(); return done(nil) }),
	ops.PoolTerminate: on(func(c *opCall, p *hostPool) (vm.ObjectReply, error) { p.Terminate(); return done(nil) }),
	ops.PoolJoin: on(func(c *opCall, p *hostPool) (vm.ObjectReply, error) {
		defer p.awaiting()()
		return done(p.Join(c.ctx))
	}),
	ops.PoolNext:          on(nextTask),
	ops.PoolDoneNext:      on(poolDoneNext),
	ops.PoolFunctionBytes: on(poolFunctionBytes),

	ops.TransportOpen: on(openPipe),
	ops.TransportRelay: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		// A child's send that its socket could not take (see package pipesock).
		return done(pipeError(true, e.Relay(c.ctx, c.owner, c.call.Value.Data)))
	}),
	ops.TransportFetch: on(func(c *opCall, e *objects.PipeEnd) (vm.ObjectReply, error) {
		// A large message, which a child's receive found held here.
		return itemReply(e.Take(c.call.Message))
	}),
	ops.TransportHolds: func(c *opCall, _ any) (vm.ObjectReply, error) {
		changes, err := child.ParseHoldChanges(c.call.Value.Data)
		if err == nil {
			c.h.adjustHolds(c.owner, changes)
		}
		return done(err)
	},
}

// invoke performs one operation for owner; svc is the service of the
// child that asks, nil for the main script.
func (h *Host) invoke(ctx context.Context, owner objects.Owner, call vm.ObjectCall, svc *service) (vm.ObjectReply, error) {
	if call.Op == ops.None || call.Op >= ops.NumOps {
		return vm.ObjectReply{}, fmt.Errorf("no operation %d", call.Op)
	}
	var obj any
	if call.Op != ops.TransportHolds {
		var err error
		if obj, err = h.objects.Get(call.ID); err != nil {
			return vm.ObjectReply{}, err
		}
	}
	return handlers[call.Op](&opCall{ctx: ctx, h: h, owner: owner, call: call, w: objects.Wait(call.Wait), svc: svc}, obj)
}
