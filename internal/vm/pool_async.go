package vm

import (
	"encoding/binary"
	"runtime"
	"slices"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// asyncResult is what apply_async and map_async return. It lives in the
// calling VM only: its tasks live in the host's pool.
type asyncResult struct {
	batch    *poolBatch
	single   bool // apply_async: one value, not a list
	callback lua.LValue
	errback  lua.LValue

	done    bool
	value   lua.LValue
	err     *itemError // the first failed item's error
	errTask uint64     // the task of err
}

const asyncResultClass = "mp.AsyncResult"

func (vm *VM) openAsyncResult() {
	L := vm.L
	mt := L.NewTypeMetatable(asyncResultClass)
	mt.RawSetString("__index", funcTable(L, map[string]lua.LGFunction{
		"get": func(L *lua.LState) int {
			a := checkAsync(L)
			if !vm.settle(L, a, checkTimeoutWait(L, 2, "AsyncResult.get")) {
				L.Push(lua.LNil)
				L.Push(lua.LString("timeout"))
				return 2
			}
			if a.err != nil {
				a.batch.raise(L, a.errTask, a.err)
			}
			L.Push(a.value)
			return 1
		},
		"wait": func(L *lua.LState) int {
			L.Push(lua.LBool(vm.settle(L, checkAsync(L), checkTimeoutWait(L, 2, "AsyncResult.wait"))))
			return 1
		},
		"ready": func(L *lua.LState) int {
			L.Push(lua.LBool(vm.settle(L, checkAsync(L), Wait{})))
			return 1
		},
		"successful": func(L *lua.LState) int {
			a := checkAsync(L)
			if !vm.settle(L, a, Wait{}) {
				L.RaiseError("AsyncResult.successful: the result is not ready")
			}
			L.Push(lua.LBool(a.err == nil))
			return 1
		},
	}))
}

func checkAsync(L *lua.LState) *asyncResult {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if a, ok := ud.Value.(*asyncResult); ok {
			return a
		}
	}
	L.RaiseError("AsyncResult expected as self (call it with ':')")
	return nil
}

// settle waits up to wait for every task of the result; once they are all
// done it records the value or the error and runs the callback, once.
func (vm *VM) settle(L *lua.LState, a *asyncResult, wait Wait) bool {
	if a.done {
		return true
	}
	deadline := time.Now().Add(wait.Timeout)
	list := L.CreateTable(len(a.batch.tasks), 0)
	n := 0
	for i := range a.batch.tasks {
		if wait.Block && !wait.Forever {
			wait.Timeout = max(time.Until(deadline), 0)
		}
		o, ok := a.batch.result(L, i, wait)
		if !ok {
			return false
		}
		if e := o.firstError(); e != nil {
			a.err, a.errTask = e, a.batch.tasks[i]
			break
		}
		for _, v := range o.values {
			n++
			list.RawSetInt(n, v) // by position: nil results keep their place
		}
	}
	a.done = true
	a.batch.forget(L)
	a.value = list
	if a.single {
		a.value = list.RawGetInt(1)
	}
	switch {
	case a.err != nil && a.errback != lua.LNil:
		L.Push(a.errback)
		L.Push(a.batch.errorValue(a.errTask, a.err))
		L.Call(1, 0)
	case a.err == nil && a.callback != lua.LNil:
		L.Push(a.callback)
		L.Push(a.value)
		L.Call(1, 0)
	}
	return true
}

// runCallbacks runs the callbacks of the async results that have finished:
// "inside the caller's next mp call". It runs at the start of every call to
// a shared object or pool, in mp.sleep, and after a pool's join, so a call
// runs the callbacks of every result finished before it began, in the order
// the results were made. Unless wait blocks, it asks the host once per pool
// which of them have finished, rather than once per result. A callback that
// raises leaves the others pending, for the next call.
func (vm *VM) runCallbacks(L *lua.LState, wait Wait) {
	vm.forgetDropped()
	vm.forgetProcs()
	if len(vm.pendingAsync) == 0 || vm.inCallbacks {
		return
	}
	vm.inCallbacks = true
	defer func() {
		vm.inCallbacks = false
		vm.pendingAsync = slices.DeleteFunc(vm.pendingAsync, func(a *asyncResult) bool { return a.done })
	}()
	ready := slices.Clone(vm.pendingAsync)
	if !wait.Block {
		ready = vm.finishedAsync(L, ready)
	}
	for _, a := range ready {
		if !a.done {
			vm.settle(L, a, wait)
		}
	}
}

// finishedAsync returns those of pending whose tasks have all finished, as
// the host says in one call per pool.
func (vm *VM) finishedAsync(L *lua.LState, pending []*asyncResult) []*asyncResult {
	byPool := map[*objectRef][]*asyncResult{}
	var pools []*objectRef // in the order first seen
	for _, a := range pending {
		if _, seen := byPool[a.batch.ref]; !seen {
			pools = append(pools, a.batch.ref)
		}
		byPool[a.batch.ref] = append(byPool[a.batch.ref], a)
	}
	var finished []*asyncResult
	for _, ref := range pools {
		results := byPool[ref]
		var ids []byte
		for _, a := range results {
			ids = binary.AppendUvarint(ids, a.batch.id)
		}
		r := results[0].batch.call(L, ObjectCall{Op: ops.PoolFinished, Value: Value{Data: ids}})
		done := map[uint64]bool{}
		for data := r.Value.Data; len(data) > 0; {
			id, n := binary.Uvarint(data)
			if n <= 0 {
				break
			}
			done[id], data = true, data[n:]
		}
		for _, a := range results {
			if done[a.batch.id] {
				finished = append(finished, a)
			}
		}
	}
	return finished
}

func (vm *VM) pushAsync(L *lua.LState, a *asyncResult) int {
	ud := L.NewUserData()
	ud.Value = a
	if a.callback != lua.LNil || a.errback != lua.LNil {
		vm.pendingAsync = append(vm.pendingAsync, a) // settled, and forgotten, by runCallbacks
	} else {
		// A result the script drops before it settles is forgotten in the
		// host once Go collects it, as Python frees an AsyncResult nobody
		// holds: fire-and-forget apply_async calls do not pile up results.
		runtime.AddCleanup(ud, vm.dropped.add, droppedBatch{a.batch.ref, a.batch.id})
	}
	L.SetMetatable(ud, L.GetTypeMetatable(asyncResultClass))
	L.Push(ud)
	return 1
}

// droppedBatch is the batch of an async result that Go collected.
type droppedBatch struct {
	pool  *objectRef
	batch uint64
}

// forgetDropped lets the host drop the results of the async results that
// Go has collected. A batch settled before is forgotten already: the host
// ignores it.
func (vm *VM) forgetDropped() {
	batches := vm.dropped.take()
	for _, b := range batches {
		vm.runtime.Invoke(vm.ctx, ObjectCall{ID: b.pool.id, Kind: "Pool", Op: ops.PoolForget, Batch: b.batch})
	}
}

// poolApplyAsync is pool:apply_async(f, args [, callback [, error_callback]]).
func (vm *VM) poolApplyAsync(L *lua.LState) int {
	callback := optionalCallback(L, 4, "Pool.apply_async", "callback")
	errback := optionalCallback(L, 5, "Pool.apply_async", "error_callback")
	b := vm.applyBatch(L, "apply_async")
	return vm.pushAsync(L, &asyncResult{batch: b, single: true, callback: callback, errback: errback})
}

// poolMapAsync is pool:map_async(f, items [, chunksize [, callback [, error_callback]]]).
func (vm *VM) poolMapAsync(L *lua.LState) int {
	callback := optionalCallback(L, 5, "Pool.map_async", "callback")
	errback := optionalCallback(L, 6, "Pool.map_async", "error_callback")
	b, _ := vm.mapBatch(L, "map_async", taskMap, false)
	return vm.pushAsync(L, &asyncResult{batch: b, callback: callback, errback: errback})
}
