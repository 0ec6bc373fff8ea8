package vm

import (
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The Process objects of mp.current_process() and mp.parent_process(): in
// a child, the current one is the object its parent started (its class,
// fields and all, as Python's); in the main script, one made on first use.
// Neither can be started, closed or signalled; a process cannot join
// itself, and it joins its parent by its id in the runtime's table.

func (vm *VM) mpCurrentProcess(L *lua.LState) int {
	L.Push(vm.currentObject())
	return 1
}

// currentObject returns the object of the process this VM runs.
func (vm *VM) currentObject() *lua.LTable {
	if vm.selfObj == nil {
		self := vm.runtime.Self()
		vm.selfObj = vm.newProcessObject(&procState{name: self.Name, identity: self.Identity, pid: self.Pid, self: true})
	}
	return vm.selfObj
}

func (vm *VM) mpParentProcess(L *lua.LState) int {
	if vm.parentObj == nil {
		info, ok := vm.runtime.Parent()
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		self, _ := vm.procOf(vm.currentObject())
		parentID := self.parentID
		vm.parentObj = vm.newProcessObject(&procState{name: info.Name, pid: info.Pid, parent: true, id: parentID})
	}
	L.Push(vm.parentObj)
	return 1
}

// newProcessObject makes an mp.Process object for a process that runs
// already.
func (vm *VM) newProcessObject(st *procState) *lua.LTable {
	obj := vm.L.CreateTable(0, 0) // its fields are its procState's
	vm.L.SetMetatable(obj, vm.processClass)
	st.started, st.target, st.args, st.kwargs = true, lua.LNil, lua.LNil, lua.LNil
	vm.addProc(obj, st)
	return obj
}

// refreshParent brings the parent's state up to date. The main script
// (id 0) outlives its children; a parent the runtime no longer knows (a
// pool worker, or one its own parent closed) has ended.
func (vm *VM) refreshParent(st *procState) {
	if st.id == 0 {
		return
	}
	status, err := vm.runtime.Status(st.id)
	if err != nil {
		st.ended = true
		return
	}
	st.update(status)
}

// joinParent waits for the parent to end, for d unless forever, and
// reports whether it has ended.
func (vm *VM) joinParent(L *lua.LState, st *procState, d time.Duration, limited bool) bool {
	if st.id == 0 {
		// The main script ends after its children: wait out the timeout.
		var expire <-chan time.Time
		if limited {
			t := time.NewTimer(d)
			defer t.Stop()
			expire = t.C
		}
		select {
		case <-expire:
			return false
		case <-vm.ctx.Done():
			L.RaiseError("Process.join: interrupted")
		}
	}
	status, err := vm.runtime.Wait(vm.ctx, st.id, d, !limited)
	switch {
	case vm.ctx.Err() != nil:
		L.RaiseError("Process.join: interrupted")
	case err != nil:
		st.ended = true // the runtime no longer knows it: it has ended
	default:
		st.update(status)
	}
	return st.ended
}
