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
			methods["task_done"] = vm.simpleOp(kind, "task_done")
			methods["join"] = vm.simpleOp(kind, "join")
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
		"get": func(L *lua.LState) int {
			r := vm.invoke(L, "Value", ObjectCall{ID: vm.checkObject(L, "Value", "get").id, Op: ops.ValueGet})
			L.Push(vm.decodeValue(L, "Value.get", shared, r.Value))
			return 1
		},
		"set": func(L *lua.LState) int {
			ref := vm.checkObject(L, "Value", "set")
			vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueSet, Value: vm.encodeValue(L, "Value.set", "value", L.Get(2))})
			return 0
		},
		"add": func(L *lua.LState) int {
			ref := vm.checkObject(L, "Value", "add")
			n := L.CheckNumber(2)
			r := vm.invoke(L, "Value", ObjectCall{ID: ref.id, Op: ops.ValueAdd, Value: Value{Number: float64(n), IsNumber: true}})
			L.Push(lua.LNumber(r.Value.Number))
			return 1
		},
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
	put := func(L *lua.LState, wait Wait) int {
		ref := vm.checkObject(L, kind, "put")
		item := L.Get(2)
		if item == lua.LNil {
			L.RaiseError("%s.put: cannot put nil", kind)
		}
		v := vm.encodeItem(L, kind+".put", "item", item)
		return pushOK(L, vm.invoke(L, kind, ObjectCall{ID: ref.id, Op: ops.QueuePut, Wait: wait, Value: v}))
	}
	get := func(L *lua.LState, wait Wait) int {
		ref := vm.checkObject(L, kind, "get")
		r := vm.invoke(L, kind, ObjectCall{ID: ref.id, Op: ops.QueueGet, Wait: wait})
		if !r.OK {
			L.Push(lua.LNil)
			L.Push(lua.LString(r.Status))
			return 2
		}
		L.Push(vm.decodeValue(L, kind+".get", received, r.Value))
		return 1
	}
	return map[string]lua.LGFunction{
		"put":        func(L *lua.LState) int { return put(L, checkBlockWait(L, 3, kind+".put")) },
		"put_nowait": func(L *lua.LState) int { return put(L, Wait{}) },
		"get":        func(L *lua.LState) int { return get(L, checkBlockWait(L, 2, kind+".get")) },
		"get_nowait": func(L *lua.LState) int { return get(L, Wait{}) },
		"qsize":      vm.simpleOp(kind, "qsize"),
		"empty":      vm.simpleOp(kind, "empty"),
		"full":       vm.simpleOp(kind, "full"),
		"close":      vm.simpleOp(kind, "close"),
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
	send := func(L *lua.LState, v Value) int {
		vm.invoke(L, kind, ObjectCall{ID: vm.checkObject(L, kind, "send").id, Op: ops.ConnectionSend, Value: v})
		return 0
	}
	recv := func(L *lua.LState, raw bool) int {
		r := vm.invoke(L, kind, ObjectCall{ID: vm.checkObject(L, kind, "recv").id, Op: ops.ConnectionRecv, Wait: Wait{Block: true, Forever: true}})
		switch {
		case !r.OK:
			L.Push(lua.LNil)
			L.Push(lua.LString(r.Status))
			return 2
		}
		v := vm.decodeValue(L, kind+".recv", received, r.Value)
		if _, isString := v.(lua.LString); raw && !isString {
			v = lua.LString(r.Value.Data) // recv_bytes of a message sent with send
		}
		L.Push(v)
		return 1
	}
	return map[string]lua.LGFunction{
		"send": func(L *lua.LState) int { return send(L, vm.encodeItem(L, kind+".send", "message", L.Get(2))) },
		"send_bytes": func(L *lua.LState) int {
			return send(L, vm.encodeItem(L, kind+".send_bytes", "message", lua.LString(L.CheckString(2))))
		},
		"recv":       func(L *lua.LState) int { return recv(L, false) },
		"recv_bytes": func(L *lua.LState) int { return recv(L, true) },
		"poll": func(L *lua.LState) int {
			ref := vm.checkObject(L, kind, "poll")
			wait := Wait{}
			if L.Get(2) != lua.LNil {
				wait = checkTimeoutWait(L, 2, kind+".poll")
			}
			L.Push(lua.LBool(vm.invoke(L, kind, ObjectCall{ID: ref.id, Op: ops.ConnectionPoll, Wait: wait}).OK))
			return 1
		},
		"close": vm.simpleOp(kind, "close"),
	}
}
