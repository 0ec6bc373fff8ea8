package vm

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

// checkTimeout reads a timeout in seconds at argument n: a number, or nil
// for "wait forever" (ok false). A negative number means do not wait, as in
// Python. It is the one place timeouts are parsed.
func checkTimeout(L *lua.LState, n int, fname string) (d time.Duration, ok bool) {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return 0, false
	case lua.LNumber:
		secs := float64(v)
		switch {
		case math.IsNaN(secs):
			L.ArgError(n, fname+": timeout must be a number of seconds, not NaN")
		case secs <= 0:
			return 0, true
		case secs > math.MaxInt64/float64(time.Second):
			return 0, false
		}
		return time.Duration(secs * float64(time.Second)), true
	default:
		L.ArgError(n, fname+": timeout must be a number of seconds, got "+v.Type().String())
	}
	return 0, false
}

// funcTable makes a table of fns sized for them. L.NewTable sizes a table
// for 32 array items and 32 keys (about 3 kB), which a table of a few keys
// keeps for as long as it lives.
func funcTable(L *lua.LState, fns map[string]lua.LGFunction) *lua.LTable {
	return L.SetFuncs(L.CreateTable(0, len(fns)), fns)
}
