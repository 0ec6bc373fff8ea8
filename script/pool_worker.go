package script

import (
	lua "github.com/yuin/gopher-lua"
)

// poolWorker is mp._pool_worker(pool, initializer, initargs), the target of
// every pool worker process: run the initializer, then take tasks from the
// host until the pool closes or retires this worker. A task's error (with
// its traceback) goes back as the task's result; it does not end the worker.
func (vm *VM) poolWorker(L *lua.LState) int {
	ud, ok := L.Get(1).(*lua.LUserData)
	ref, isRef := (*objectRef)(nil), false
	if ok {
		ref, isRef = ud.Value.(*objectRef)
	}
	if !isRef || ref.kind != "Pool" {
		L.ArgError(1, "mp._pool_worker: Pool expected")
	}
	if init := L.Get(2); init != lua.LNil {
		L.Push(init)
		n := 0
		if args, ok := L.Get(3).(*lua.LTable); ok {
			for ; n < args.Len(); n++ {
				L.Push(args.RawGetInt(n + 1))
			}
		}
		L.Call(n, 0)
	}
	functions := map[int64]lua.LValue{}
	forever := Wait{Block: true, Forever: true}
	task := vm.invoke(L, "Pool", ObjectCall{ID: ref.id, Op: "next", Wait: forever})
	for {
		if task.Status != "" { // "exit": retired, or the pool is closed
			return 0
		}
		if task.Aux != nil {
			fn, err := vm.Decode(task.Aux)
			if err != nil {
				L.RaiseError("pool worker: %v", err)
			}
			functions[task.M] = fn
		}
		results, errText := vm.runTask(L, functions[task.M], task.Value)
		done := ObjectCall{ID: ref.id, Op: "done_next", N: task.N, Text: errText, Wait: forever}
		if errText == "" {
			data, err := vm.Encode("result", results)
			if err != nil {
				done.Text = err.Error()
			}
			done.Value = Value{Data: data}
		}
		task = vm.invoke(L, "Pool", done)
	}
}

// runTask calls fn on each item of a task (see taskMap) and returns the
// table of first results, or the first error's message and traceback.
func (vm *VM) runTask(L *lua.LState, fn lua.LValue, data Value) (*lua.LTable, string) {
	if len(data.Data) == 0 || fn == nil {
		return nil, "malformed pool task"
	}
	mode := data.Data[0]
	decoded, err := vm.Decode(data.Data[1:])
	if err != nil {
		return nil, err.Error()
	}
	list, _ := decoded.(*lua.LTable)
	if list == nil {
		return nil, "malformed pool task"
	}
	unpack := func(v lua.LValue) []lua.LValue {
		t, ok := v.(*lua.LTable)
		if !ok {
			return []lua.LValue{v}
		}
		args := make([]lua.LValue, t.Len())
		for j := range args {
			args[j] = t.RawGetInt(j + 1)
		}
		return args
	}
	var calls [][]lua.LValue
	switch mode {
	case taskApply:
		calls = [][]lua.LValue{unpack(list)}
	default:
		for i := 1; i <= list.Len() || i <= list.MaxN(); i++ {
			if mode == taskStar {
				calls = append(calls, unpack(list.RawGetInt(i)))
			} else {
				calls = append(calls, []lua.LValue{list.RawGetInt(i)})
			}
		}
	}
	results := L.CreateTable(len(calls), 0)
	depth := vm.stackDepth()
	for i, args := range calls {
		rets, err := vm.callAt(depth, fn, args...)
		if err != nil {
			return nil, ErrorText(err)
		}
		if len(rets) > 0 {
			results.RawSetInt(i+1, rets[0])
		}
	}
	return results, ""
}

// ErrorText is an error's message with its Lua traceback, when it has one.
func ErrorText(err error) string {
	if luaErr, ok := err.(*Error); ok && luaErr.Traceback != "" {
		return luaErr.Message + "\n" + luaErr.Traceback
	}
	return err.Error()
}
