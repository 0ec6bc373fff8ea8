package vm

import (
	"bytes"
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// runPoolWorker runs a pool worker process (see StartPoolWorker), with the
// payload its pool's creator encoded: {pool, initializer, initargs}, and
// where, on a cluster worker (LocalPoolPayload). It runs the initializer,
// then takes tasks from the host until the pool closes or retires this
// worker.
func (vm *VM) runPoolWorker(spec *lua.LTable) error {
	ud, ok := spec.RawGetString("pool").(*lua.LUserData)
	ref, isRef := (*objectRef)(nil), false
	if ok {
		ref, isRef = ud.Value.(*objectRef)
	}
	if !isRef || ref.kind != "Pool" {
		return errors.New("pool worker payload has no Pool")
	}
	// The initializer runs from a Go frame as a Process's target does, so
	// that its errors read the same.
	_, err := vm.Call(vm.L.NewFunction(func(L *lua.LState) int {
		if init := spec.RawGetString("initializer"); init != lua.LNil {
			L.Push(init)
			n := 0
			if args, ok := spec.RawGetString("initargs").(*lua.LTable); ok {
				n = pushList(L, args)
			}
			L.Call(n, 0)
		}
		where, _ := spec.RawGetString("where").(lua.LString)
		return vm.poolWorker(L, ref, string(where))
	}))
	return err
}

// poolWorker takes tasks of ref's pool from the host and runs them until
// the pool closes or retires this worker. A task's error (with its
// traceback, and where when not empty) goes back as the task's result; it
// does not end the worker. A bundle's tasks run one after the other and go
// back together (runBundle).
func (vm *VM) poolWorker(L *lua.LState, ref *objectRef, where string) int {
	fns := workerFunctions{vm: vm, pool: ref.id, data: map[uint64][]byte{}, copies: map[uint64]functionCopy{}}
	forever := Wait{Block: true, Forever: true}
	task := vm.invoke(L, "Pool", ObjectCall{ID: ref.id, Op: ops.PoolNext, Wait: forever})
	for {
		if task.Status != "" { // "exit": retired, or the pool is closed
			return 0
		}
		run := vm.runOne
		if isBundle(task.Value.Data) {
			run = vm.runBundle
		}
		data, errText := run(L, &fns, task, where)
		done := ObjectCall{ID: ref.id, Op: ops.PoolDoneNext, Task: task.Task, ErrText: errText, Value: Value{Data: data}, Wait: forever}
		task = vm.invoke(L, "Pool", done)
	}
}

// runOne runs a task (runTask) and returns what its worker reports of it: its result's bytes
// and its error text, with where added to the errors of its items when not empty. Both are
// set when some of its items raised: the host knows the task failed, and the caller reads
// each item's error from the bytes.
func (vm *VM) runOne(L *lua.LState, fns *workerFunctions, task ObjectReply, where string) (data []byte, errText string) {
	results, failures, errText := vm.runTask(L, fns, task)
	if errText != "" {
		return nil, errText
	}
	if where != "" {
		for i := range failures {
			failures[i].text += "\n(on " + where + ")"
		}
	}
	data, err := vm.encodeSent(func(buf []byte) ([]byte, error) { return vm.appendTaskResult(buf, results, failures) })
	switch {
	case err != nil:
		return nil, err.Error()
	case len(failures) > 0:
		return data, failures[0].text
	}
	return data, ""
}

// workerFunctions are the functions a pool worker has: their bytes, as the
// host shipped them once, and a copy decoded from the bytes for the call
// (batch) whose task ran last here: a task of another call gets a new copy,
// so that each call starts from a snapshot taken at the call. At most
// keptFunctions are kept; the bytes of one dropped here are fetched again
// from the host.
type workerFunctions struct {
	vm     *VM
	pool   uint64
	data   map[uint64][]byte       // by function id
	copies map[uint64]functionCopy // by function id
}

// functionCopy is a function decoded for one call.
type functionCopy struct {
	batch uint64
	fn    lua.LValue
}

const keptFunctions = 64

// get returns batch's copy of function id; shipped is its bytes when the
// host sent them with this task.
func (f *workerFunctions) get(L *lua.LState, id uint64, batch uint64, shipped []byte) (lua.LValue, error) {
	if shipped != nil {
		makeRoom(f.data, id)
		f.data[id] = bytes.Clone(shipped) // the reply's buffer may be reused
	}
	if c, ok := f.copies[id]; ok && c.batch == batch {
		return c.fn, nil
	}
	data, ok := f.data[id]
	if !ok {
		r := f.vm.invoke(L, "Pool", ObjectCall{ID: f.pool, Op: ops.PoolFunctionBytes, Func: id})
		if !r.OK {
			return nil, fmt.Errorf("the host no longer has function %d", id)
		}
		data = bytes.Clone(r.FuncCode)
		makeRoom(f.data, id)
		f.data[id] = data
	}
	fn, err := f.vm.decodeAs(shared, data) // each worker decodes it
	if err != nil {
		return nil, err
	}
	makeRoom(f.copies, id)
	f.copies[id] = functionCopy{batch, fn}
	return fn, nil
}

// makeRoom empties m when it is full (keptFunctions) and k is not in it:
// what is dropped is decoded or fetched again when needed.
func makeRoom[V any](m map[uint64]V, k uint64) {
	if _, ok := m[k]; !ok && len(m) >= keptFunctions {
		clear(m)
	}
}

// runTask calls the task's function on each of its items (see taskMap) and
// returns their first results and the errors of the items that raised, or
// errText when the task could not run or its worker must stop.
func (vm *VM) runTask(L *lua.LState, fns *workerFunctions, task ObjectReply) (results []lua.LValue, failures []workerFailure, errText string) {
	mode, batch, data, ok := splitTask(task.Value.Data)
	if !ok {
		return nil, nil, "malformed pool task"
	}
	fn, err := fns.get(L, task.Func, batch, task.FuncCode)
	if err != nil {
		return nil, nil, "pool worker: " + err.Error()
	}
	var items []lua.LValue
	var args *lua.LTable // taskApply: one call, with the list as its arguments
	if mode == taskApply {
		decoded, err := vm.Decode(data)
		if err != nil {
			return nil, nil, err.Error()
		}
		if args, _ = decoded.(*lua.LTable); args == nil {
			return nil, nil, "malformed pool task"
		}
		items = []lua.LValue{args}
	} else {
		var err error
		if items, err = vm.decodeList(data); err != nil {
			return nil, nil, err.Error()
		}
	}
	// One protected call runs the items, so that a cheap function does not
	// pay for a protected call per item; after an item's error, another
	// runs the items after it.
	results = make([]lua.LValue, len(items))
	next := 0 // the item the protected call runs next
	run := L.NewFunction(func(L *lua.LState) int {
		for ; next < len(items); next++ {
			L.Push(fn)
			nargs := 1
			switch t, isTable := items[next].(*lua.LTable); {
			case mode == taskApply, mode == taskStar && isTable:
				nargs = pushList(L, t)
			default:
				L.Push(items[next])
			}
			L.Call(nargs, 1)
			results[next] = L.Get(-1)
			L.Pop(1)
		}
		return 0
	})
	for next < len(items) {
		// The frames below this one, and run's own, are left out of a traceback.
		_, err := vm.callAt(vm.stackDepth()+1, run)
		if err == nil {
			break
		}
		if luaErr, ok := err.(*Error); !ok || luaErr.Interrupted {
			return nil, nil, ErrorText(err) // os.exit, or the run was stopped: nothing more runs here
		}
		failures = append(failures, vm.workerFailure(next, err.(*Error)))
		results[next] = lua.LNil
		next++
	}
	return results, failures, ""
}

// pushList pushes the items of a list and returns how many.
func pushList(L *lua.LState, t *lua.LTable) int {
	n := t.Len()
	for j := 1; j <= n; j++ {
		L.Push(t.RawGetInt(j))
	}
	return n
}
