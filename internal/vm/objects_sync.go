package vm

import (
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// openSyncObjects adds the locks, semaphores, events, conditions and
// barriers to the mp module.
func (vm *VM) openSyncObjects(mp *lua.LTable) {
	L := vm.L
	for _, kind := range []string{"Lock", "RLock", "Semaphore", "BoundedSemaphore"} {
		vm.defineObjectKind(kind, vm.opMethods(kind, vm.lockMethods(kind)), nil)
	}
	mp.RawSetString("Lock", L.NewFunction(func(L *lua.LState) int { return vm.construct(L, "Lock", ObjectArgs{}) }))
	mp.RawSetString("RLock", L.NewFunction(func(L *lua.LState) int { return vm.construct(L, "RLock", ObjectArgs{}) }))
	for _, kind := range []string{"Semaphore", "BoundedSemaphore"} {
		mp.RawSetString(kind, L.NewFunction(func(L *lua.LState) int {
			value := L.OptInt64(1, 1)
			if value < 0 {
				L.ArgError(1, "mp."+kind+": value must be >= 0")
			}
			return vm.construct(L, kind, ObjectArgs{Count: value, Bounded: kind == "BoundedSemaphore"})
		}))
	}

	vm.defineObjectKind("Event", vm.opMethods("Event", nil), nil)
	mp.RawSetString("Event", L.NewFunction(func(L *lua.LState) int { return vm.construct(L, "Event", ObjectArgs{}) }))

	condition := vm.lockMethods("Condition")
	condition["wait_for"] = vm.conditionWaitFor
	vm.defineObjectKind("Condition", vm.opMethods("Condition", condition), nil)
	mp.RawSetString("Condition", L.NewFunction(func(L *lua.LState) int {
		var lockID uint64
		if v := L.Get(1); v != lua.LNil {
			ud, ok := v.(*lua.LUserData)
			ref, isRef := (*objectRef)(nil), false
			if ok {
				ref, isRef = ud.Value.(*objectRef)
			}
			if !isRef || (ref.kind != "Lock" && ref.kind != "RLock") {
				L.ArgError(1, "mp.Condition: Lock or RLock expected, got "+v.Type().String())
			}
			lockID = ref.id
		}
		return vm.construct(L, "Condition", ObjectArgs{Lock: lockID})
	}))

	// A wait without a timeout waits Forever: the host reads it as the
	// barrier's own timeout.
	vm.defineObjectKind("Barrier", vm.opMethods("Barrier", nil), map[string]ops.Op{"parties": ops.BarrierParties, "n_waiting": ops.BarrierNWaiting, "broken": ops.BarrierBroken})
	mp.RawSetString("Barrier", L.NewFunction(func(L *lua.LState) int {
		parties := L.CheckInt64(1)
		if parties < 1 {
			L.ArgError(1, "mp.Barrier: parties must be >= 1")
		}
		return vm.construct(L, "Barrier", ObjectArgs{Parties: parties, Timeout: checkTimeoutWait(L, 2, "mp.Barrier")})
	}))
}

// lockMethods are the methods of the lock-like kinds that do more than
// their operation: acquire and release, which take and give the lock in
// this process when the runtime can, and with.
func (vm *VM) lockMethods(kind string) map[string]lua.LGFunction {
	acquireArgs, releaseOp := argsOf(kind, "acquire"), ops.Of(kind, "release")
	acquire := func(L *lua.LState, call ObjectCall) ObjectReply {
		if vm.locks != nil {
			vm.beforeCall(L, call.Op)
			ok, status, done, err := vm.locks.TakeLock(vm.ctx, call.Op, call.ID, call.Wait)
			if err != nil {
				vm.raiseRuntime(L, acquireArgs.fname, err)
			}
			if done {
				return ObjectReply{OK: ok, Status: status}
			}
		}
		return vm.invoke(L, kind, call)
	}
	release := func(L *lua.LState, ref *objectRef) {
		if vm.locks != nil {
			vm.beforeCall(L, releaseOp)
			done, err := vm.locks.GiveLock(releaseOp, ref.id)
			if err != nil {
				vm.raiseRuntime(L, kind+".release", err)
			}
			if done {
				return
			}
		}
		vm.invoke(L, kind, ObjectCall{ID: ref.id, Op: releaseOp})
	}
	return map[string]lua.LGFunction{
		"acquire": func(L *lua.LState) int { return pushOK(L, acquire(L, acquireArgs.read(vm, L))) },
		"release": func(L *lua.LState) int {
			release(L, vm.checkObject(L, kind, "release"))
			return 0
		},
		"with": func(L *lua.LState) int {
			ref := vm.checkObject(L, kind, "with")
			return vm.withHeld(L, kind,
				func() { acquire(L, ObjectCall{ID: ref.id, Op: acquireArgs.op, Wait: Wait{Block: true, Forever: true}}) },
				func() { release(L, ref) })
		},
	}
}

// conditionWaitFor is cond:wait_for(pred [, timeout]): wait until pred()
// is true or the timeout passes, and return pred's last result.
func (vm *VM) conditionWaitFor(L *lua.LState) int {
	ref := vm.checkObject(L, "Condition", "wait_for")
	pred := checkFunction(L, 2, "Condition.wait_for", "pred")
	wait := checkTimeoutWait(L, 3, "Condition.wait_for")
	deadline := time.Now().Add(wait.Timeout)
	check := func() lua.LValue {
		L.Push(pred)
		L.Call(0, 1)
		v := L.Get(-1)
		L.Pop(1)
		return v
	}
	result := check()
	for !lua.LVAsBool(result) {
		if !wait.Forever {
			wait.Timeout = time.Until(deadline)
			if wait.Timeout <= 0 {
				break
			}
		}
		vm.invoke(L, "Condition", ObjectCall{ID: ref.id, Op: ops.ConditionWait, Wait: wait})
		result = check()
	}
	L.Push(result)
	return 1
}
