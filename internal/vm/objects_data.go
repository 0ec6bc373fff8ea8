package vm

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// openDataObjects adds the queues, pipes and shared values to the mp module.
func (vm *VM) openDataObjects(mp *lua.LTable) {
	L := vm.L
	for _, kind := range []string{"Queue", "JoinableQueue"} {
		methods := vm.queueMethods(kind)
		if kind == "JoinableQueue" {
			methods["task_done"] = vm.opMethod(kind, "task_done", nil)
			methods["join"] = vm.opMethod(kind, "join", nil)
		}
		vm.defineObjectKind(kind, methods, nil)
		mp.RawSetString(kind, L.NewFunction(func(L *lua.LState) int {
			maxsize := L.OptInt64(1, 0)
			if maxsize < 0 {
				maxsize = 0
			}
			return vm.construct(L, kind, ObjectArgs{MaxSize: maxsize})
		}))
	}

	vm.defineObjectKind("Connection", vm.pipeMethods(), nil)
	mp.RawSetString("Pipe", L.NewFunction(func(L *lua.LState) int {
		return vm.construct(L, "Connection", checkPipeOptions(L))
	}))

	vm.defineObjectKind("Value", map[string]lua.LGFunction{
		"get": vm.opMethod("Value", "get", func(L *lua.LState, r ObjectReply) int {
			L.Push(vm.decodeValue(L, "Value.get", shared, r.Value))
			return 1
		}),
		"set": vm.opMethod("Value", "set", nil),
		"add": vm.opMethod("Value", "add", func(L *lua.LState, r ObjectReply) int {
			L.Push(lua.LNumber(r.Value.Number))
			return 1
		}),
		"with": func(L *lua.LState) int {
			ref := vm.checkObject(L, "Value", "with")
			return vm.withHeld(L,
				func() {
					vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueAcquire, Wait: Wait{Block: true, Forever: true}})
				},
				func() { vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueRelease}) })
		},
	}, nil)
	mp.RawSetString("Value", L.NewFunction(func(L *lua.LState) int {
		return vm.construct(L, "Value", ObjectArgs{Initial: vm.encodeValue(L, "mp.Value", "value", L.Get(1))})
	}))
}

func (vm *VM) queueMethods(kind string) map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"put":        vm.opMethod(kind, "put", nil),
		"put_nowait": vm.opMethod(kind, "put_nowait", nil),
		"get":        vm.opMethod(kind, "get", vm.pushItem(kind+".get", false)),
		"get_nowait": vm.opMethod(kind, "get_nowait", vm.pushItem(kind+".get_nowait", false)),
		"qsize":      vm.opMethod(kind, "qsize", nil),
		"empty":      vm.opMethod(kind, "empty", nil),
		"full":       vm.opMethod(kind, "full", nil),
		"close":      vm.opMethod(kind, "close", nil),
	}
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

func (vm *VM) pipeMethods() map[string]lua.LGFunction {
	const kind = "Connection"
	return map[string]lua.LGFunction{
		"send":       vm.opMethod(kind, "send", nil),
		"send_bytes": vm.opMethod(kind, "send_bytes", nil),
		"recv":       vm.opMethod(kind, "recv", vm.pushItem(kind+".recv", false)),
		"recv_bytes": vm.opMethod(kind, "recv_bytes", vm.pushItem(kind+".recv_bytes", true)),
		"poll":       vm.opMethod(kind, "poll", nil),
		"close":      vm.opMethod(kind, "close", nil),
	}
}
