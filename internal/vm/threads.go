package vm

import (
	lua "github.com/yuin/gopher-lua"
)

// The coroutine functions that ask which thread runs see, from a helper
// thread of pcall or xpcall, the thread that the script runs on: the one
// below every pcall it is in (pcall.go).

// openThreads replaces coroutine.running, coroutine.status and
// coroutine.yield.
func (vm *VM) openThreads() {
	L := vm.L
	co := L.GetGlobal("coroutine").(*lua.LTable)
	yield := co.RawGetString("yield").(*lua.LFunction).GFunction
	co.RawSetString("running", L.NewFunction(vm.builtinRunning))
	co.RawSetString("status", L.NewFunction(vm.builtinStatus))
	co.RawSetString("yield", L.NewFunction(func(L *lua.LState) int {
		if vm.inProtectedCall(L) {
			// gopher-lua would yield out of the protected call's Go
			// frames and leave the coroutine broken.
			L.Error(lua.LString("attempt to yield across metamethod/C-call boundary"), 0)
		}
		return yield(L)
	}))
}

// builtinRunning is coroutine.running(): the running coroutine, or nil in
// the main thread.
func (vm *VM) builtinRunning(L *lua.LState) int {
	if T := vm.scriptThread(L); T != L.G.MainThread {
		L.Push(T)
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

// builtinStatus is coroutine.status(co), as gopher-lua gives it: "normal"
// for the coroutine that resumed the running one.
func (vm *VM) builtinStatus(L *lua.LState) int {
	th := L.CheckThread(1)
	status := "suspended"
	switch running := vm.scriptThread(L); {
	case th.Dead:
		status = "dead"
	case th == running:
		status = "running"
	case running.Parent != nil && vm.scriptThread(running.Parent) == th:
		status = "normal"
	}
	L.Push(lua.LString(status))
	return 1
}

// inProtectedCall reports whether L runs a protected call of mphost's
// pcall or xpcall, on a helper thread or in place.
func (vm *VM) inProtectedCall(L *lua.LState) bool {
	if vm.owners[L] != nil {
		return true
	}
	for _, T := range vm.inPlace {
		if T == L {
			return true
		}
	}
	return false
}
