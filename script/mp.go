package script

import (
	"math"
	"runtime"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// openMP builds the `mp` module table, preloads it for require("mp"), and
// returns it so its members can be named as builtins.
func (vm *VM) openMP() *lua.LTable {
	L := vm.L
	mp := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"cpu_count":       mpCPUCount,
		"sleep":           vm.mpSleep,
		"current_process": vm.mpCurrentProcess,
		"parent_process":  vm.mpParentProcess,
	})
	vm.openProcess(mp)
	vm.openSyncObjects(mp)
	vm.openDataObjects(mp)
	vm.openPool(mp)
	L.PreloadModule("mp", func(L *lua.LState) int {
		L.Push(mp)
		return 1
	})
	return mp
}

func mpCPUCount(L *lua.LState) int {
	L.Push(lua.LNumber(mpCPUCountValue()))
	return 1
}

// mpCPUCountValue is the number of CPUs, as mp.cpu_count() says.
func mpCPUCountValue() int { return runtime.NumCPU() }

// mpSleep is mp.sleep(seconds); it ends early, with an error, when the VM
// is interrupted.
func (vm *VM) mpSleep(L *lua.LState) int {
	d, _ := checkTimeout(L, 1, "mp.sleep")
	vm.runCallbacks(L, Wait{})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-vm.ctx.Done():
		L.RaiseError("interrupted")
	}
	return 0
}

func (vm *VM) mpCurrentProcess(L *lua.LState) int {
	L.Push(processInfoTable(L, vm.runtime.Self()))
	return 1
}

func (vm *VM) mpParentProcess(L *lua.LState) int {
	info, ok := vm.runtime.Parent()
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(processInfoTable(L, info))
	return 1
}

func processInfoTable(L *lua.LState, info ProcessInfo) *lua.LTable {
	t := L.CreateTable(0, 2)
	t.RawSetString("name", lua.LString(info.Name))
	t.RawSetString("pid", lua.LNumber(info.Pid))
	return t
}

// checkTimeout reads a timeout in seconds at argument n: a non-negative
// number, or nil for "wait forever" (ok false). It is the one place timeouts
// are parsed.
func checkTimeout(L *lua.LState, n int, fname string) (d time.Duration, ok bool) {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return 0, false
	case lua.LNumber:
		secs := float64(v)
		if math.IsNaN(secs) || secs < 0 {
			L.ArgError(n, fname+": timeout must be a non-negative number of seconds")
		}
		if secs > math.MaxInt64/float64(time.Second) {
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	default:
		L.ArgError(n, fname+": timeout must be a number of seconds, got "+v.Type().String())
	}
	return 0, false
}
