package vm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// Process objects are Lua tables whose metatable is their class: mp.Process
// or a class made with mp.Process:extend(). Their own fields belong to the
// script; the live fields (pid, name, daemon, exitcode) are kept here, in Go,
// keyed by the table, and read through the class's __index.

// procState is the Go side of one Process object.
type procState struct {
	name     string
	identity string
	daemon   bool
	target   lua.LValue
	args     lua.LValue
	kwargs   lua.LValue
	memory   int64 // memory_limit in bytes; 0: the run's default

	self     bool   // the object of the process this VM runs in
	parentID uint64 // of self: its parent's id in the runtime's table, 0 for the main script
	parent   bool   // the object of mp.parent_process(): id is the parent's
	started  bool
	closed   bool
	id       uint64 // in the runtime's table, once started
	pid      int
	ended    bool
	exitCode int
}

// openProcess builds the mp.Process class.
func (vm *VM) openProcess(mp *lua.LTable) {
	L := vm.L
	cls := funcTable(L, map[string]lua.LGFunction{
		"init":       vm.processInit,
		"start":      vm.processStart,
		"join":       vm.processJoin,
		"is_alive":   vm.processIsAlive,
		"terminate":  func(L *lua.LState) int { return vm.processSignal(L, syscall.SIGTERM) },
		"kill":       func(L *lua.LState) int { return vm.processSignal(L, syscall.SIGKILL) },
		"close":      vm.processClose,
		"run":        vm.processRun,
		"extend":     vm.processExtend,
		"__index":    vm.processIndex,
		"__newindex": vm.processNewIndex,
		"__tostring": vm.processToString,
	})
	vm.processMeta = funcTable(L, map[string]lua.LGFunction{"__call": vm.processConstruct})
	L.SetMetatable(cls, vm.processMeta)
	vm.processClass = cls
	mp.RawSetString("Process", cls)
	mp.RawSetString("active_children", L.NewFunction(vm.mpActiveChildren))
}

// processConstruct is Class(...): a new object with its state, then
// Class.init(obj, ...).
func (vm *VM) processConstruct(L *lua.LState) int {
	cls, ok := L.Get(1).(*lua.LTable)
	if !ok {
		L.RaiseError("Process: a class expected, got %s", aType(L.Get(1)))
	}
	nargs := L.GetTop() - 1
	obj := L.CreateTable(0, 0) // its fields are its procState's
	L.SetMetatable(obj, cls)
	vm.childCount++
	identity := strconv.Itoa(vm.childCount)
	if own := vm.runtime.Self().Identity; own != "" {
		identity = own + ":" + identity
	}
	vm.addProc(obj, &procState{name: "Process-" + identity, identity: identity, target: lua.LNil, args: lua.LNil, kwargs: lua.LNil})
	L.Push(L.GetField(cls, "init"))
	L.Push(obj)
	for i := 2; i <= nargs+1; i++ {
		L.Push(L.Get(i))
	}
	L.Call(nargs+1, 0)
	L.Push(obj)
	return 1
}

// processOptions are the keys of mp.Process's options table.
var processOptions = []string{"target", "args", "kwargs", "name", "daemon", "memory_limit"}

// processInit is the base init(self [, opts]): opts as mp.Process{...} takes.
// Unknown options and wrong types raise here, at the caller's line.
func (vm *VM) processInit(L *lua.LState) int {
	st := vm.method(L, "init", 1)
	if st.started || st.self || st.parent {
		L.RaiseError("Process.init: the process has already started")
	}
	opts, ok := L.Get(2).(*lua.LTable)
	if !ok {
		if L.Get(2) != lua.LNil {
			L.RaiseError("Process: options table expected, got %s", aType(L.Get(2)))
		}
		return 0
	}
	opts.ForEach(func(k, _ lua.LValue) {
		if name, ok := k.(lua.LString); !ok || !slices.Contains(processOptions, string(name)) {
			L.RaiseError("Process: no option %s (options: %s)", describeKey(k), strings.Join(processOptions, ", "))
		}
	})
	target, args, kwargs := opts.RawGetString("target"), opts.RawGetString("args"), opts.RawGetString("kwargs")
	if target != lua.LNil && !callable(L, target) {
		L.RaiseError("Process: target must be callable, not %s", aType(target))
	}
	for _, o := range []struct {
		name string
		v    lua.LValue
	}{{"args", args}, {"kwargs", kwargs}} {
		if _, ok := o.v.(*lua.LTable); !ok && o.v != lua.LNil {
			L.RaiseError("Process: %s must be a table, not %s", o.name, aType(o.v))
		}
	}
	switch name := opts.RawGetString("name").(type) {
	case lua.LString:
		st.name = string(name)
	case *lua.LNilType:
	default:
		L.RaiseError("Process: name must be a string, not %s", aType(name))
	}
	switch daemon := opts.RawGetString("daemon").(type) {
	case lua.LBool:
		st.daemon = bool(daemon)
	case *lua.LNilType:
	default:
		L.RaiseError("Process: daemon must be a boolean, not %s", aType(daemon))
	}
	st.memory = memoryLimitOption(L, "Process", opts.RawGetString("memory_limit"))
	st.target, st.args, st.kwargs = target, args, kwargs
	return 0
}

// method checks a call of Process method name: self (argument 1) must be a
// Process object, and at most nargs arguments follow it.
func (vm *VM) method(L *lua.LState, name string, nargs int) *procState {
	obj, _ := L.Get(1).(*lua.LTable)
	st, ok := vm.procOf(obj)
	if !ok {
		L.RaiseError("Process.%s: a Process object expected as self (call p:%s(...)), got %s", name, name, aType(L.Get(1)))
	}
	switch n := L.GetTop() - 1; {
	case n > nargs && nargs == 0:
		L.RaiseError("Process.%s takes no arguments, got %d", name, n)
	case n > nargs:
		L.RaiseError("Process.%s takes at most %d argument(s), got %d", name, nargs, n)
	}
	return st
}

// state returns the state of the Process object at argument n.
func (vm *VM) state(L *lua.LState, n int) *procState {
	obj := L.CheckTable(n)
	st, ok := vm.procOf(obj)
	if !ok {
		L.ArgError(n, "Process object expected")
	}
	return st
}

// live returns a started, not closed process's state, for method name
// that takes nargs arguments.
func (vm *VM) live(L *lua.LState, name string, nargs int) *procState {
	st := vm.method(L, name, nargs)
	switch {
	case st.closed:
		L.RaiseError("Process.%s: the process object is closed", name)
	case st.self:
		L.RaiseError("Process.%s: a process cannot %s itself", name, name)
	case st.parent && name != "join":
		L.RaiseError("Process.%s: a process cannot %s its parent", name, name)
	case !st.started:
		L.RaiseError("Process.%s: the process has not been started", name)
	}
	return st
}

func (vm *VM) processStart(L *lua.LState) int {
	st := vm.method(L, "start", 0)
	switch {
	case st.closed:
		L.RaiseError("Process.start: the process object is closed")
	case st.parent:
		L.RaiseError("Process.start: a process cannot start its parent")
	case st.started || st.self:
		L.RaiseError("Process.start: a process can only be started once")
	}
	payload := vm.processPayload(L, L.CheckTable(1), st)
	status, err := vm.runtime.Spawn(vm.ctx, SpawnRequest{Name: st.name, Daemon: st.daemon, Identity: st.identity, Payload: payload})
	if err != nil {
		L.RaiseError("Process.start: %v", err)
	}
	st.started, st.id, st.pid = true, status.ID, status.Pid
	vm.addStarted(L.CheckTable(1))
	return 0
}

// processPayload encodes what a child needs to run a Process object: the
// object itself, its target and arguments (see RunProcess).
func (vm *VM) processPayload(L *lua.LState, obj *lua.LTable, st *procState) []byte {
	spec := L.CreateTable(0, 6)
	spec.RawSetString("instance", obj)
	spec.RawSetString("target", st.target)
	spec.RawSetString("args", st.args)
	spec.RawSetString("kwargs", st.kwargs)
	return vm.startPayload(L, "Process.start", spec, st.memory)
}

// startPayload encodes spec, the payload of a start of any kind, with what
// every kind carries: the parent's id and the memory limit in bytes (0: the
// run's).
func (vm *VM) startPayload(L *lua.LState, fname string, spec *lua.LTable, memory int64) []byte {
	spec.RawSetString("parent", lua.LNumber(vm.runtime.Self().ID))
	if memory > 0 {
		spec.RawSetString("memory_limit", lua.LNumber(memory))
	}
	payload, err := vm.Encode("", spec)
	if err != nil {
		L.RaiseError("%s: %v", fname, err)
	}
	return payload
}

func (vm *VM) processJoin(L *lua.LState) int {
	st := vm.live(L, "join", 1)
	d, limited := checkTimeout(L, 2, "Process.join")
	if st.parent {
		L.Push(lua.LBool(vm.joinParent(L, st, d, limited)))
		return 1
	}
	status, err := vm.runtime.Wait(vm.ctx, st.id, d, !limited)
	if err != nil {
		vm.raiseRuntime(L, "Process.join", err)
	}
	st.update(status)
	if st.ended {
		vm.endedStarted(L.CheckTable(1))
	}
	L.Push(lua.LBool(st.ended))
	return 1
}

// raiseRuntime raises a runtime error, saying "interrupted" when the VM's
// context ended the call.
func (vm *VM) raiseRuntime(L *lua.LState, method string, err error) {
	if vm.ctx.Err() != nil {
		L.RaiseError("%s: interrupted", method)
	}
	L.RaiseError("%s: %v", method, err)
}

func (st *procState) update(s ProcessStatus) {
	if !s.Alive && !st.ended {
		st.ended, st.exitCode = true, s.ExitCode
	}
}

// refresh brings a started process's state up to date.
func (vm *VM) refresh(L *lua.LState, st *procState) {
	if !st.started || st.ended || st.closed || st.self {
		return
	}
	if st.parent {
		vm.refreshParent(st)
		return
	}
	status, err := vm.runtime.Status(st.id)
	if err != nil {
		vm.raiseRuntime(L, "Process", err)
	}
	st.update(status)
}

func (vm *VM) processIsAlive(L *lua.LState) int {
	st := vm.method(L, "is_alive", 0)
	if st.closed {
		L.RaiseError("Process.is_alive: the process object is closed")
	}
	if st.self {
		L.Push(lua.LTrue)
		return 1
	}
	vm.refresh(L, st)
	L.Push(lua.LBool(st.started && !st.ended && !st.closed))
	return 1
}

func (vm *VM) processSignal(L *lua.LState, sig syscall.Signal) int {
	method := map[syscall.Signal]string{syscall.SIGTERM: "terminate", syscall.SIGKILL: "kill"}[sig]
	st := vm.live(L, method, 0)
	if st.ended {
		return 0
	}
	if err := vm.runtime.Signal(st.id, sig); err != nil {
		vm.raiseRuntime(L, "Process."+method, err)
	}
	return 0
}

func (vm *VM) processClose(L *lua.LState) int {
	st := vm.method(L, "close", 0)
	if st.self || st.parent {
		L.RaiseError("Process.close: a process cannot close itself or its parent")
	}
	if st.closed || !st.started {
		st.closed = true
		return 0
	}
	vm.refresh(L, st)
	if !st.ended {
		L.RaiseError("Process.close: the process is still running")
	}
	if err := vm.runtime.Release(st.id); err != nil {
		vm.raiseRuntime(L, "Process.close", err)
	}
	st.closed = true
	vm.endedStarted(L.CheckTable(1))
	return 0
}

// processRun is the default run: target(unpack(args)), with kwargs as one
// more last argument when given.
func (vm *VM) processRun(L *lua.LState) int {
	st := vm.method(L, "run", 0)
	if st.target == lua.LNil {
		return 0
	}
	L.Push(st.target)
	n := 0
	if args, ok := st.args.(*lua.LTable); ok {
		for ; n < args.Len(); n++ {
			L.Push(args.RawGetInt(n + 1))
		}
	}
	if st.kwargs != lua.LNil {
		L.Push(st.kwargs)
		n++
	}
	L.Call(n, 0)
	return 0
}

// processExtend is Class:extend(): a subclass whose objects are processes.
func (vm *VM) processExtend(L *lua.LState) int {
	parent, ok := L.Get(1).(*lua.LTable)
	if !ok || L.GetTop() > 1 {
		L.RaiseError("Process.extend: call it as Class:extend(), with no arguments")
	}
	sub := L.NewTable()
	for _, k := range []string{"__index", "__newindex", "__tostring"} {
		sub.RawSetString(k, vm.processClass.RawGetString(k))
	}
	meta := L.CreateTable(0, 2)
	meta.RawSetString("__index", parent)
	meta.RawSetString("__call", vm.processMeta.RawGetString("__call"))
	L.SetMetatable(sub, meta)
	L.Push(sub)
	return 1
}

// processIndex reads the live fields, and looks anything else up in the
// object's class chain.
func (vm *VM) processIndex(L *lua.LState) int {
	obj := L.CheckTable(1)
	key := L.Get(2)
	if st, ok := vm.procOf(obj); ok {
		if k, ok := key.(lua.LString); ok {
			if v, ok := vm.liveField(L, st, string(k)); ok {
				L.Push(v)
				return 1
			}
		}
	}
	L.Push(L.GetTable(L.GetMetatable(obj), key))
	return 1
}

func (vm *VM) liveField(L *lua.LState, st *procState, key string) (lua.LValue, bool) {
	switch key {
	case "name":
		return lua.LString(st.name), true
	case "daemon":
		return lua.LBool(st.daemon), true
	case "pid":
		switch {
		case st.closed:
			L.RaiseError("Process.pid: the process object is closed")
		case !st.started:
			return lua.LNil, true
		}
		return lua.LNumber(st.pid), true
	case "exitcode":
		if st.closed {
			L.RaiseError("Process.exitcode: the process object is closed")
		}
		vm.refresh(L, st)
		if st.parent {
			return lua.LNil, true // as Python's parent_process().exitcode
		}
		if !st.ended {
			return lua.LNil, true
		}
		return lua.LNumber(st.exitCode), true
	}
	return nil, false
}

func (vm *VM) processNewIndex(L *lua.LState) int {
	obj := L.CheckTable(1)
	key, value := L.Get(2), L.Get(3)
	st, ok := vm.procOf(obj)
	k, isString := key.(lua.LString)
	if !ok || !isString {
		L.RawSet(obj, key, value)
		return 0
	}
	switch k {
	case "name":
		name, ok := value.(lua.LString)
		if !ok {
			L.RaiseError("Process.name must be a string, not %s", aType(value))
		}
		st.name = string(name)
	case "daemon":
		daemon, ok := value.(lua.LBool)
		switch {
		case !ok:
			L.RaiseError("Process.daemon must be a boolean, not %s", aType(value))
		case st.started || st.self || st.parent:
			L.RaiseError("Process.daemon: cannot be set once the process has started")
		}
		st.daemon = bool(daemon)
	case "pid", "exitcode":
		L.RaiseError("Process.%s is read-only", string(k))
	default:
		L.RawSet(obj, key, value)
	}
	return 0
}

func (vm *VM) processToString(L *lua.LState) int {
	st := vm.method(L, "__tostring", 0)
	vm.refresh(L, st)
	s := fmt.Sprintf("<Process name='%s'", st.name)
	switch {
	case st.closed:
		s += " closed"
	case st.self || st.parent:
		s += fmt.Sprintf(" pid=%d started", st.pid)
	case st.ended:
		s += fmt.Sprintf(" pid=%d exitcode=%d", st.pid, st.exitCode)
	case st.started:
		s += fmt.Sprintf(" pid=%d started", st.pid)
	default:
		s += " initial"
	}
	if st.daemon {
		s += " daemon"
	}
	L.Push(lua.LString(s + ">"))
	return 1
}

// mpActiveChildren lists the processes this VM started that are still
// running, the same objects it started.
func (vm *VM) mpActiveChildren(L *lua.LState) int {
	list := L.NewTable()
	alive := vm.started[:0]
	for _, obj := range vm.started {
		st, _ := vm.procOf(obj)
		vm.refresh(L, st)
		if !st.ended && !st.closed {
			alive = append(alive, obj)
			list.Append(obj)
		}
	}
	vm.started = alive
	L.Push(list)
	return 1
}

// RunProcess runs, in a child, what a start of kind sent: a Process object
// its parent started (it rebuilds the object, its target and arguments and
// calls obj:run()), or a pool's worker loop (see runPoolWorker). It tells limit
// the process's memory_limit in bytes (0: none of its own) first.
func (vm *VM) RunProcess(kind StartKind, payload []byte, limit func(memoryLimit int64)) error {
	v, err := vm.decodeAs(delivered, payload) // the host made this process their holder
	if err != nil {
		return err
	}
	defer vm.reportHolds() // what it received, before it ends
	spec, ok := v.(*lua.LTable)
	if !ok {
		return errors.New("process payload is not a table")
	}
	self := vm.runtime.Self()
	parentID, _ := spec.RawGetString("parent").(lua.LNumber)
	st := &procState{name: self.Name, identity: self.Identity, self: true, started: true, pid: self.Pid, parentID: uint64(parentID)}
	memory, _ := spec.RawGetString("memory_limit").(lua.LNumber)
	if kind == StartPoolWorker {
		vm.selfObj = vm.newProcessObject(st)
		if limit != nil {
			limit(int64(memory))
		}
		return vm.runPoolWorker(spec)
	}
	obj, ok := spec.RawGetString("instance").(*lua.LTable)
	if !ok {
		return errors.New("process payload has no instance")
	}
	st.target, st.args, st.kwargs = spec.RawGetString("target"), spec.RawGetString("args"), spec.RawGetString("kwargs")
	vm.addProc(obj, st)
	vm.selfObj = obj
	if limit != nil {
		limit(int64(memory))
	}
	_, err = vm.Call(vm.L.GetField(obj, "run"), obj)
	return err
}

// Finish does what Python does as a process exits: it ends the daemonic
// children this VM started (EndProcesses), then waits for the others.
func (vm *VM) Finish() {
	ctx := vm.ctx
	for id := range vm.pools { // as a Python pool is terminated when collected
		vm.runtime.Invoke(ctx, ObjectCall{ID: id, Op: ops.PoolTerminate})
	}
	var daemons []uint64
	for _, obj := range vm.started {
		if st, _ := vm.procOf(obj); st.daemon && !st.ended && !st.closed {
			daemons = append(daemons, st.id)
		}
	}
	EndProcesses(ctx, vm.runtime, daemons)
	for _, obj := range vm.started {
		if st, _ := vm.procOf(obj); !st.ended && !st.closed {
			if status, err := vm.runtime.Wait(ctx, st.id, 0, true); err == nil {
				st.update(status)
			}
		}
	}
}

// StopGrace is how long EndProcesses lets a process end after SIGTERM
// before it sends SIGKILL.
const StopGrace = 500 * time.Millisecond

// EndProcesses ends processes of rt as a parent's exit ends its daemons:
// SIGTERM, then SIGKILL to those still running after StopGrace (a stopped
// process does not act on SIGTERM), and returns once all have ended (or
// are unknown to rt) or ctx is done.
func EndProcesses(ctx context.Context, rt Runtime, ids []uint64) {
	for _, id := range ids {
		rt.Signal(id, syscall.SIGTERM)
	}
	deadline := time.Now().Add(StopGrace)
	for _, id := range ids {
		status, err := rt.Wait(ctx, id, max(time.Until(deadline), 0), false)
		if err == nil && status.Alive {
			rt.Signal(id, syscall.SIGKILL)
			rt.Wait(ctx, id, 0, true)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// callable reports whether v can be called: a function, or a value whose
// metatable has __call.
func callable(L *lua.LState, v lua.LValue) bool {
	return v.Type() == lua.LTFunction || L.GetMetaField(v, "__call") != lua.LNil
}
