package vm

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// openDataObjects adds the queues, pipes and shared values to the mp module.
func (vm *VM) openDataObjects(mp *lua.LTable) {
	L := vm.L
	for _, kind := range []string{"Queue", "JoinableQueue"} {
		vm.defineObjectKind(kind, vm.opMethods(kind, map[string]lua.LGFunction{
			"get":        vm.opMethod(kind, "get", vm.pushItem(kind+".get", false)),
			"get_nowait": vm.opMethod(kind, "get_nowait", vm.pushItem(kind+".get_nowait", false)),
		}), nil)
		mp.RawSetString(kind, L.NewFunction(func(L *lua.LState) int {
			var maxsize int64
			switch n := L.Get(1).(type) {
			case *lua.LNilType:
			case lua.LNumber:
				maxsize = max(int64(n), 0)
			default:
				L.ArgError(1, "mp."+kind+": maxsize must be a number, got "+n.Type().String())
			}
			return vm.construct(L, kind, ObjectArgs{MaxSize: maxsize})
		}))
	}

	vm.defineObjectKind("Connection", vm.opMethods("Connection", map[string]lua.LGFunction{
		"recv":       vm.opMethod("Connection", "recv", vm.pushItem("Connection.recv", false)),
		"recv_bytes": vm.opMethod("Connection", "recv_bytes", vm.pushItem("Connection.recv_bytes", true)),
	}), nil)
	mp.RawSetString("Pipe", L.NewFunction(func(L *lua.LState) int {
		return vm.construct(L, "Connection", checkPipeOptions(L))
	}))

	vm.defineObjectKind("Value", vm.opMethods("Value", map[string]lua.LGFunction{
		"get": vm.opMethod("Value", "get", func(L *lua.LState, r ObjectReply) int {
			L.Push(vm.decodeValue(L, "Value.get", shared, r.Value))
			return 1
		}),
		"add": vm.opMethod("Value", "add", func(L *lua.LState, r ObjectReply) int {
			L.Push(lua.LNumber(r.Value.Number))
			return 1
		}),
		"with": func(L *lua.LState) int {
			ref := vm.checkObject(L, "Value", "with")
			return vm.withHeld(L, "Value",
				func() {
					vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueAcquire, Wait: Wait{Block: true, Forever: true}})
				},
				func() { vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueRelease}) })
		},
	}), nil)
	mp.RawSetString("Value", L.NewFunction(func(L *lua.LState) int {
		return vm.construct(L, "Value", ObjectArgs{Initial: vm.encodeValue(L, "mp.Value", "value", L.Get(1))})
	}))
}

// checkPipeOptions reads mp.Pipe's arguments: ([duplex=true]) or a table
// {duplex = true, capacity = bytes}. Capacity 0 is the default.
func checkPipeOptions(L *lua.LState) ObjectArgs {
	opts, ok := L.Get(1).(*lua.LTable)
	if !ok {
		return ObjectArgs{Duplex: L.OptBool(1, true)}
	}
	args := ObjectArgs{Duplex: true}
	opts.ForEach(func(k, v lua.LValue) {
		switch k.String() {
		case "duplex":
			b, ok := v.(lua.LBool)
			if !ok {
				L.RaiseError("mp.Pipe: duplex must be a boolean, got %s", v.Type())
			}
			args.Duplex = bool(b)
		case "capacity":
			n, ok := v.(lua.LNumber)
			if !ok || n < 1 || n != lua.LNumber(int64(n)) {
				L.RaiseError("mp.Pipe: capacity must be a whole number of bytes, at least 1, got %s (%s)", lua.LVAsString(v), v.Type())
			}
			args.Capacity = int64(n)
		default:
			L.RaiseError("mp.Pipe: unknown option %q (it takes duplex and capacity)", k.String())
		}
	})
	return args
}
