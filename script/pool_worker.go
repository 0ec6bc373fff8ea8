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
	for {
		task := vm.invoke(L, "Pool", ObjectCall{ID: ref.id, Op: "next", Wait: Wait{Block: true, Forever: true}})
		if task.Status != "" { // "closed" or "retire"
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
		done := ObjectCall{ID: ref.id, Op: "done", N: task.N, Text: errText}
		if errText == "" {
			data, err := vm.Encode("result", results)
			if err != nil {
				done.Text = err.Error()
			}
			done.Value = Value{Data: data}
		}
		vm.invoke(L, "Pool", done)
	}
}

// runTask calls fn on each item of a task and returns the table of first
// results, or the first error's message and traceback.
func (vm *VM) runTask(L *lua.LState, fn lua.LValue, data Value) (*lua.LTable, string) {
	task, err := vm.Decode(data.Data)
	if err != nil {
		return nil, err.Error()
	}
	spec, _ := task.(*lua.LTable)
	if spec == nil || fn == nil {
		return nil, "malformed pool task"
	}
	mode := lua.LVAsString(spec.RawGetString("mode"))
	items, _ := spec.RawGetString("items").(*lua.LTable)
	n := 0
	if items != nil {
		n = items.Len()
	}
	results := L.CreateTable(n, 0)
	for i := 1; i <= n; i++ {
		item := items.RawGetInt(i)
		var args []lua.LValue
		if list, ok := item.(*lua.LTable); ok && mode != "map" {
			for j := 1; j <= list.Len(); j++ {
				args = append(args, list.RawGetInt(j))
			}
		} else {
			args = []lua.LValue{item}
		}
		rets, err := vm.Call(fn, args...)
		if err != nil {
			return nil, ErrorText(err)
		}
		if len(rets) > 0 {
			results.RawSetInt(i, rets[0])
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
