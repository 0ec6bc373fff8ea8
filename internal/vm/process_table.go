package vm

import (
	"runtime"
	"slices"
	"weak"

	lua "github.com/yuin/gopher-lua"
)

// The Process objects of a VM: vm.procs finds the Go state of each by its
// table, without keeping the table alive, so that an object the script
// dropped goes with its target and arguments (and the objects they hold).
// vm.started keeps the processes this VM started until it knows they have
// ended (joined, closed, or seen ended as a later start looks): their
// objects are the script's until then (mp.active_children, and the end of
// the script waits for them) even if it dropped them.

// procKey is the key of a Process object in vm.procs.
type procKey = weak.Pointer[lua.LTable]

// procOf returns the state of Process object obj (nil: none).
func (vm *VM) procOf(obj *lua.LTable) (*procState, bool) {
	st, ok := vm.procs[weak.Make(obj)]
	return st, ok
}

// addProc makes obj a Process object with state st. The entries of the
// objects Go has collected go first.
func (vm *VM) addProc(obj *lua.LTable, st *procState) {
	vm.forgetProcs()
	key := weak.Make(obj)
	vm.procs[key] = st
	runtime.AddCleanup(obj, vm.droppedProcs.add, key)
}

// forgetProcs drops the entries of the Process objects Go has collected.
func (vm *VM) forgetProcs() {
	for _, key := range vm.droppedProcs.take() {
		delete(vm.procs, key)
	}
}

// addStarted records that this VM started obj. Now and then, as the list
// doubles, it drops the processes that have ended from it first.
func (vm *VM) addStarted(obj *lua.LTable) {
	if len(vm.started) >= vm.startedCheck {
		vm.started = slices.DeleteFunc(vm.started, func(obj *lua.LTable) bool {
			st, _ := vm.procOf(obj)
			if !st.ended && !st.closed {
				if status, err := vm.runtime.Status(st.id); err == nil {
					st.update(status)
				}
			}
			return st.ended || st.closed
		})
		vm.startedCheck = max(2*len(vm.started), minStartedCheck)
	}
	vm.started = append(vm.started, obj)
}

// minStartedCheck is the length of vm.started below which addStarted does
// not look for ended processes.
const minStartedCheck = 64

// endedStarted drops obj, a process that has ended or was closed, from
// vm.started.
func (vm *VM) endedStarted(obj *lua.LTable) {
	if i := slices.Index(vm.started, obj); i >= 0 {
		vm.started = slices.Delete(vm.started, i, i+1)
	}
}
