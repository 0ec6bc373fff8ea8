package vm

import (
	lua "github.com/yuin/gopher-lua"
)

// Handle is implemented by the Go value inside a userdata that stands for a
// host-owned object (a Queue, a Lock, ...). Such a userdata crosses processes
// as its kind and id; the receiving VM rebuilds it with the [HandleKind]
// registered under that kind, so both ends hold the same object.
type Handle interface {
	Handle() (kind string, id uint64)
}

// HandleKind rebuilds, in a VM, the userdata for the object with the given id.
type HandleKind func(L *lua.LState, id uint64) (lua.LValue, error)

// RegisterHandleKind tells the VM how to rebuild handles of one kind.
func (vm *VM) RegisterHandleKind(kind string, rebuild HandleKind) {
	vm.handles[kind] = rebuild
}
