package vm

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// A Pool is a host-owned object: the host keeps its task queue, hands tasks
// to its worker processes, fails the task of a worker that dies and starts
// a replacement. This file is the caller's side in Lua (map, imap, apply,
// ...); pool_worker.go is the loop every worker process runs.
//
// A task is a chunk of items run with one function, which the host ships
// to each worker once: its bytes are a mode byte (taskMap: f(item),
// taskStar: f(unpack(item)), taskApply: f(unpack(args)) once), the batch's
// id (a uvarint: a worker decodes the function afresh for each call, so
// that each call's function is a snapshot taken at the call) and the
// encoded list. Its result is the table of the function's first results,
// one per item.
const (
	taskMap   = 'm'
	taskStar  = 's'
	taskApply = 'a'
)

// taskRoots name a task's items in errors, by mode.
var taskRoots = map[byte]string{taskMap: "items", taskStar: "arglists", taskApply: "args"}

// splitTask reads a task's bytes (see taskMap): its mode, its batch's id and
// the encoded items after them; ok is false when data is not a task.
func splitTask(data []byte) (mode byte, batch uint64, items []byte, ok bool) {
	if len(data) == 0 || taskRoots[data[0]] == "" {
		return 0, 0, nil, false
	}
	batch, n := binary.Uvarint(data[1:])
	if n <= 0 {
		return 0, 0, nil, false
	}
	return data[0], batch, data[1+n:], true
}

// poolInfo is what the creating VM knows of a pool.
type poolInfo struct {
	processes int
}

func (vm *VM) openPool(mp *lua.LTable) {
	L := vm.L
	join := vm.opMethod("Pool", "join", nil)
	vm.defineObjectKind("Pool", vm.opMethods("Pool", map[string]lua.LGFunction{
		"map":            func(L *lua.LState) int { return vm.poolMap(L, "map", taskMap) },
		"starmap":        func(L *lua.LState) int { return vm.poolMap(L, "starmap", taskStar) },
		"imap":           func(L *lua.LState) int { return vm.poolIMap(L, "imap", true) },
		"imap_unordered": func(L *lua.LState) int { return vm.poolIMap(L, "imap_unordered", false) },
		"apply":          vm.poolApply,
		"apply_async":    vm.poolApplyAsync,
		"map_async":      vm.poolMapAsync,
		"join": func(L *lua.LState) int {
			join(L)
			// The pool's results are all in now, so their callbacks run; those
			// of other pools run if theirs are, without waiting for them.
			vm.runCallbacks(L, Wait{})
			return 0
		},
	}), nil)
	vm.openAsyncResult()
	mp.RawSetString("Pool", L.NewFunction(vm.newPool))
}

// poolOptions are the keys of mp.Pool's options table.
var poolOptions = map[string]bool{"processes": true, "initializer": true, "initargs": true,
	"maxtasksperchild": true, "task_timeout": true, "progress": true, "memory_limit": true}

// newPool is mp.Pool(n) or mp.Pool{processes, initializer, initargs,
// maxtasksperchild, task_timeout, progress, memory_limit}.
func (vm *VM) newPool(L *lua.LState) int {
	args := PoolArgs{Processes: int64(mpCPUCountValue())}
	var memory int64 // each worker's limit in bytes; 0: the run's
	var init, initargs lua.LValue = lua.LNil, lua.LNil
	switch opt := L.Get(1).(type) {
	case lua.LNumber:
		args.Processes = positiveInt(L, "mp.Pool", "processes", opt, args.Processes)
	case *lua.LTable:
		opt.ForEach(func(k, _ lua.LValue) {
			if name, ok := k.(lua.LString); !ok || !poolOptions[string(name)] {
				L.RaiseError("mp.Pool: no option %s (options: processes, initializer, initargs, maxtasksperchild, task_timeout, progress, memory_limit)", describeKey(k))
			}
		})
		args.Processes = positiveInt(L, "mp.Pool", "processes", opt.RawGetString("processes"), args.Processes)
		args.MaxTasksPerChild = positiveInt(L, "mp.Pool", "maxtasksperchild", opt.RawGetString("maxtasksperchild"), 0)
		memory = memoryLimitOption(L, "mp.Pool", opt.RawGetString("memory_limit"))
		init, initargs = opt.RawGetString("initializer"), opt.RawGetString("initargs")
		if init != lua.LNil && !callable(L, init) {
			L.RaiseError("mp.Pool: initializer must be callable, not %s", aType(init))
		}
		if _, ok := initargs.(*lua.LTable); !ok && initargs != lua.LNil {
			L.RaiseError("mp.Pool: initargs must be a table, not %s", aType(initargs))
		}
		switch p := opt.RawGetString("progress").(type) {
		case lua.LBool:
			args.Progress = bool(p)
		case *lua.LNilType:
		default:
			L.RaiseError("mp.Pool: progress must be a boolean, not %s", aType(p))
		}
		switch t := opt.RawGetString("task_timeout").(type) {
		case lua.LNumber:
			if !(t > 0) {
				L.RaiseError("mp.Pool: task_timeout must be a positive number of seconds, not %s", lua.LVAsString(t))
			}
			args.TaskTimeout = Wait{Block: true, Timeout: time.Duration(math.Min(float64(t), 1e9) * float64(time.Second))}
		case *lua.LNilType:
		default:
			L.RaiseError("mp.Pool: task_timeout must be a number of seconds, not %s", aType(t))
		}
	case *lua.LNilType:
	default:
		L.ArgError(1, "mp.Pool: number of processes or options table expected")
	}
	ids, err := vm.runtime.NewObject("Pool", ObjectArgs{Pool: args})
	if err != nil {
		L.RaiseError("mp.Pool: %v", err)
	}
	pool := vm.newObjectUserdata("Pool", ids[0])
	vm.watchObject(pool, ids[0], delivered)
	vm.pools[ids[0]] = poolInfo{processes: int(args.Processes)}

	// Every worker is a process that runs the pool's worker loop (see
	// runPoolWorker) with this payload.
	spec := L.CreateTable(0, 5)
	spec.RawSetString("pool", pool)
	spec.RawSetString("initializer", init)
	spec.RawSetString("initargs", initargs)
	payload := vm.startPayload(L, "mp.Pool", spec, memory)
	vm.invoke(L, "Pool", ObjectCall{ID: ids[0], Op: ops.PoolStart, Value: Value{Data: payload}})
	L.Push(pool)
	return 1
}

// poolBatch is one call's tasks: a map, an imap, an apply.
type poolBatch struct {
	vm     *VM
	ref    *objectRef
	fname  string // "Pool.map", for errors
	mode   byte
	root   string // what the items are called in errors: "items", "arglists", "args"
	fnID   uint64
	id     uint64
	chunk  int
	tasks  []uint64
	counts map[uint64]int // items per task
}

// newBatch ships fn to the host and opens a batch, which holds the
// function in the host until the batch is forgotten. shown is the number
// of items whose progress the host may draw as their tasks finish (see
// mp.Pool's progress option); 0 for none.
func (vm *VM) newBatch(L *lua.LState, ref *objectRef, method string, mode byte, fn lua.LValue, chunk, shown int) *poolBatch {
	b := &poolBatch{vm: vm, ref: ref, fname: "Pool." + method, mode: mode, chunk: chunk, counts: map[uint64]int{}}
	b.root = taskRoots[mode]
	fnData, err := vm.Encode("function", fn)
	if err != nil {
		L.RaiseError("%s: %v", b.fname, err)
	}
	vm.runCallbacks(L, Wait{}) // a pool method is an mp call too
	r := b.call(L, ObjectCall{Op: ops.PoolBatch, Value: Value{Data: fnData}, Method: b.fname, Count: int64(shown)})
	b.id, b.fnID = r.Batch, r.Func
	return b
}

// call invokes an operation of the batch's pool, raising errors under the
// name of the method the script called.
func (b *poolBatch) call(L *lua.LState, call ObjectCall) ObjectReply {
	call.ID = b.ref.id
	reply, err := b.vm.runtime.Invoke(b.vm.ctx, call)
	if err != nil {
		b.vm.raiseRuntime(L, b.fname, err)
	}
	return reply
}

// submit adds tasks for items from to to (item(i) is the item at index i,
// from 0), chunk by chunk; an apply's one task is its argument list.
func (b *poolBatch) submit(L *lua.LState, item func(int) lua.LValue, from, to int) {
	for start := from; start < to; start += b.chunk {
		end := min(start+b.chunk, to)
		// Room for the header and about 5 bytes an item: the bytes stay in
		// the host until a worker takes them, so they are not reused.
		head := append(make([]byte, 0, 16+5*(end-start)), b.mode)
		head = binary.AppendUvarint(head, b.id) // see taskMap
		var data []byte
		var err error
		if b.mode == taskApply {
			data, err = b.vm.encodeTo(head, b.root, item(start))
		} else {
			data, err = b.vm.appendItems(head, b.root, start, end, item)
		}
		if err != nil {
			b.forget(L) // the tasks submitted before this one are of no use
			L.RaiseError("%s: %v", b.fname, offsetPath(err, b.root, start))
		}
		r := b.call(L, ObjectCall{Op: ops.PoolSubmit, Batch: b.id, Func: b.fnID, Value: Value{Data: data}, Count: int64(end - start)})
		b.tasks = append(b.tasks, r.Task)
		b.counts[r.Task] = end - start
	}
}

// offsetPath renames a chunk's item in a SendError by its index among all
// the items: "items[1].cb" of the chunk from item 10 is "items[11].cb".
func offsetPath(err error, root string, offset int) error {
	se, ok := err.(*SendError)
	if !ok || offset == 0 || !strings.HasPrefix(se.Path, root+"[") {
		return err
	}
	rest := se.Path[len(root)+1:]
	end := strings.IndexByte(rest, ']')
	n, convErr := strconv.Atoi(rest[:max(end, 0)])
	if end < 0 || convErr != nil {
		return err
	}
	return &SendError{Path: fmt.Sprintf("%s[%d]%s", root, n+offset, rest[end+1:]), Reason: se.Reason}
}

// timedOut starts the host's text of a task that overran task_timeout.
const timedOut = "task timed out after "

// errorText is the error of a failed task as the script sees it: named by
// the method, and, for a timeout, saying that task_timeout bounded a whole
// chunk when the task was one of several items (Python's word for a chunk
// of a map is a task, too).
func (b *poolBatch) errorText(task uint64, text string) string {
	if n := b.counts[task]; n > 1 && strings.HasPrefix(text, timedOut) {
		text += fmt.Sprintf(" (the task was a chunk of %d items: task_timeout bounds a whole chunk; pass a smaller chunksize)", n)
	}
	return b.fname + ": " + text
}

// result waits for task i of the batch; ok is false on timeout.
func (b *poolBatch) result(L *lua.LState, i int, wait Wait) (o taskOutcome, ok bool) {
	task := b.tasks[i]
	r := b.call(L, ObjectCall{Op: ops.PoolResult, Task: task, Wait: wait})
	if !r.OK && r.Status != "error" {
		return taskOutcome{}, false
	}
	return b.outcome(L, task, r), true
}

// nextDone waits for the next task of the batch to finish, in any order.
func (b *poolBatch) nextDone(L *lua.LState) (uint64, taskOutcome) {
	r := b.call(L, ObjectCall{Op: ops.PoolNextDone, Batch: b.id, Wait: Wait{Block: true, Forever: true}})
	return r.Task, b.outcome(L, r.Task, r)
}

// forget lets the host drop the batch's results.
func (b *poolBatch) forget(L *lua.LState) {
	b.call(L, ObjectCall{Op: ops.PoolForget, Batch: b.id})
}

// positiveInt is the integer v, at least 1, or def when v is nil; anything
// else raises an error naming fname's option.
func positiveInt(L *lua.LState, fname, option string, v lua.LValue, def int64) int64 {
	switch n := v.(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		if f := float64(n); f >= 1 && f == math.Trunc(f) && f <= 1<<53 {
			return int64(f)
		}
		L.RaiseError("%s: %s must be a whole number, at least 1, not %s", fname, option, lua.LVAsString(n))
	default:
		L.RaiseError("%s: %s must be a whole number, not %s", fname, option, aType(v))
	}
	return 0
}

// aType is v's type with an article, for error messages: "a string", "nil".
func aType(v lua.LValue) string {
	if v == lua.LNil {
		return "nil"
	}
	return "a " + v.Type().String()
}

// describeKey names a table key in an error message.
func describeKey(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok {
		return strconv.Quote(string(s))
	}
	return fmt.Sprintf("[%s]", k.Type())
}

// poolFunction is argument 2 of a pool method: what the workers call.
func poolFunction(L *lua.LState, fname string) lua.LValue {
	fn := L.Get(2)
	if !callable(L, fn) {
		L.RaiseError("%s: the function to run must be callable, not %s", fname, aType(fn))
	}
	return fn
}

// optionalCallback is argument n, a callback the caller runs: nil, or
// anything callable.
func optionalCallback(L *lua.LState, n int, fname, name string) lua.LValue {
	cb := L.Get(n)
	if cb != lua.LNil && !callable(L, cb) {
		L.RaiseError("%s: %s must be callable, not %s", fname, name, aType(cb))
	}
	return cb
}

// tableArg is the table at argument n, named name in errors, or nil when
// the argument is nil and optional.
func tableArg(L *lua.LState, n int, fname, name string, optional bool) *lua.LTable {
	v := L.Get(n)
	t, ok := v.(*lua.LTable)
	if !ok && !(optional && v == lua.LNil) {
		L.RaiseError("%s: %s must be a table, not %s", fname, name, aType(v))
	}
	return t
}

// sequence reads the list at argument n, named root in errors; for
// starmap (mode taskStar) each item must be a list too. Its items are read
// in place (item(i) is the item at index i, from 0), so a caller that does
// not submit them all at once copies them first (see poolIMap).
func sequence(L *lua.LState, n int, fname, root string, mode byte) (item func(int) lua.LValue, count int) {
	t := tableArg(L, n, fname, root, false)
	count = t.Len()
	item = func(i int) lua.LValue { return t.RawGetInt(i + 1) }
	for i := 0; mode == taskStar && i < count; i++ {
		if _, ok := item(i).(*lua.LTable); !ok {
			L.RaiseError("%s: %s[%d] must be a table of arguments, not %s", fname, root, i+1, aType(item(i)))
		}
	}
	return item, count
}

// chunksize is the argument at n, or Python's default: the items spread in
// about four chunks per worker.
func (vm *VM) chunksize(L *lua.LState, n int, ref *objectRef, fname string, count int) int {
	if v := L.Get(n); v != lua.LNil {
		return int(min(positiveInt(L, fname, "chunksize", v, 1), 1<<30))
	}
	processes := max(vm.pools[ref.id].processes, 1)
	size, extra := count/(processes*4), count%(processes*4)
	if extra != 0 || size == 0 {
		size++
	}
	return size
}

// mapBatch submits the tasks of pool:METHOD(f, items [, chunksize]).
func (vm *VM) mapBatch(L *lua.LState, method string, mode byte, shown bool) (*poolBatch, int) {
	ref := vm.checkObject(L, "Pool", method)
	fn := poolFunction(L, "Pool."+method)
	item, count := sequence(L, 3, "Pool."+method, taskRoots[mode], mode)
	n := 0
	if shown {
		n = count
	}
	b := vm.newBatch(L, ref, method, mode, fn, vm.chunksize(L, 4, ref, "Pool."+method, count), n)
	b.submit(L, item, 0, count)
	return b, count
}

// applyBatch submits the task of pool:METHOD(f, args).
func (vm *VM) applyBatch(L *lua.LState, method string) *poolBatch {
	ref := vm.checkObject(L, "Pool", method)
	fn := poolFunction(L, "Pool."+method)
	args := tableArg(L, 3, "Pool."+method, "args", true)
	if args == nil {
		args = L.CreateTable(0, 0)
	}
	b := vm.newBatch(L, ref, method, taskApply, fn, 1, 0)
	b.submit(L, func(int) lua.LValue { return args }, 0, 1)
	return b
}

// poolMap is pool:map(f, items [, chunksize]) and pool:starmap.
func (vm *VM) poolMap(L *lua.LState, method string, mode byte) int {
	b, count := vm.mapBatch(L, method, mode, true)
	out := L.CreateTable(count, 0)
	n := 0
	for i := range b.tasks {
		o, _ := b.result(L, i, Wait{Block: true, Forever: true})
		if e := o.firstError(); e != nil {
			b.forget(L)
			b.raise(L, b.tasks[i], e)
		}
		appendArray(out, n, o.values)
		n += len(o.values)
	}
	b.forget(L)
	L.Push(out)
	return 1
}

// poolApply is pool:apply(f, args): f(unpack(args)) in a worker.
func (vm *VM) poolApply(L *lua.LState) int {
	b := vm.applyBatch(L, "apply")
	o, _ := b.result(L, 0, Wait{Block: true, Forever: true})
	b.forget(L)
	if e := o.firstError(); e != nil {
		b.raise(L, b.tasks[0], e)
	}
	L.Push(o.values[0])
	return 1
}

// imapChunk is the most items imap puts in a chunk by default, so that its
// window holds at most 2 * processes * imapChunk items, however long the
// input.
const imapChunk = 256

// poolIMap is pool:imap(f, items [, chunksize]) and imap_unordered: an
// iterator over the results, in order or as they finish. A window of tasks
// is in flight (two chunks per worker), so a long input does not all wait in
// the host at once: by default, chunks are as map's but at most imapChunk
// items.
func (vm *VM) poolIMap(L *lua.LState, method string, ordered bool) int {
	ref := vm.checkObject(L, "Pool", method)
	fn := poolFunction(L, "Pool."+method)
	// The items are submitted as the loop goes: a snapshot of them now.
	item, count := sequence(L, 3, "Pool."+method, "items", taskMap)
	items := make([]lua.LValue, count)
	for i := range items {
		items[i] = item(i)
	}
	item = func(i int) lua.LValue { return items[i] }
	chunk := vm.chunksize(L, 4, ref, "Pool."+method, len(items))
	if L.Get(4) == lua.LNil {
		chunk = min(chunk, imapChunk)
	}
	b := vm.newBatch(L, ref, method, taskMap, fn, chunk, len(items))
	window := 2 * max(vm.pools[ref.id].processes, 1) * b.chunk
	submitted, taken := 0, 0 // items submitted; tasks whose results were taken
	finished := false
	var cur taskOutcome // the outcome of the task taken last
	var curTask uint64
	pos := 0 // the item of cur the next step gives
	next := L.NewFunction(func(L *lua.LState) int {
		for pos == len(cur.values) {
			if finished {
				return 0
			}
			// Keep up to window items in flight beyond those already taken.
			if end := min(taken*b.chunk+window, len(items)); end > submitted {
				b.submit(L, item, submitted, end)
				submitted = end
			}
			if taken == len(b.tasks) {
				finished = true
				b.forget(L)
				return 0
			}
			if ordered {
				curTask = b.tasks[taken]
				cur, _ = b.result(L, taken, Wait{Block: true, Forever: true})
			} else {
				curTask, cur = b.nextDone(L)
			}
			pos = 0
			taken++
		}
		// An item that failed raises at its step; the next step goes on.
		i := pos
		pos++
		if e := cur.errs[i]; e != nil {
			b.raise(L, curTask, e)
		}
		L.Push(cur.values[i])
		return 1
	})
	// A loop that breaks early drops the iterator: its batch is forgotten
	// once Go collects it, as a dropped AsyncResult's is.
	runtime.AddCleanup(next, vm.dropped.add, droppedBatch{ref, b.id})
	L.Push(next)
	return 1
}
