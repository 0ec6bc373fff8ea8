package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"
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

	self     bool // the object of the process this VM runs in
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
	cls := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
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
	vm.processMeta = L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"__call": vm.processConstruct})
	L.SetMetatable(cls, vm.processMeta)
	vm.processClass = cls
	mp.RawSetString("Process", cls)
	mp.RawSetString("active_children", L.NewFunction(vm.mpActiveChildren))
}

// processConstruct is Class(...): a new object with its state, then
// Class.init(obj, ...).
func (vm *VM) processConstruct(L *lua.LState) int {
	cls := L.CheckTable(1)
	nargs := L.GetTop() - 1
	obj := L.NewTable()
	L.SetMetatable(obj, cls)
	vm.childCount++
	identity := strconv.Itoa(vm.childCount)
	if own := vm.runtime.Self().Identity; own != "" {
		identity = own + ":" + identity
	}
	vm.procs[obj] = &procState{name: "Process-" + identity, identity: identity, target: lua.LNil, args: lua.LNil, kwargs: lua.LNil}
	L.Push(L.GetField(cls, "init"))
	L.Push(obj)
	for i := 2; i <= nargs+1; i++ {
		L.Push(L.Get(i))
	}
	L.Call(nargs+1, 0)
	L.Push(obj)
	return 1
}

// processInit is the base init(self [, opts]): opts as mp.Process{...} takes.
func (vm *VM) processInit(L *lua.LState) int {
	st := vm.state(L, 1)
	opts, ok := L.Get(2).(*lua.LTable)
	if !ok {
		if L.Get(2) != lua.LNil {
			L.ArgError(2, "Process: options table expected, got "+L.Get(2).Type().String())
		}
		return 0
	}
	st.target = opts.RawGetString("target")
	if st.target != lua.LNil && !callable(L, st.target) {
		L.ArgError(2, "Process: target must be callable, got "+st.target.Type().String())
	}
	st.args = opts.RawGetString("args")
	if _, ok := st.args.(*lua.LTable); !ok && st.args != lua.LNil {
		L.ArgError(2, "Process: args must be a table, got "+st.args.Type().String())
	}
	st.kwargs = opts.RawGetString("kwargs")
	if name, ok := opts.RawGetString("name").(lua.LString); ok {
		st.name = string(name)
	}
	st.daemon = lua.LVAsBool(opts.RawGetString("daemon"))
	return 0
}

// state returns the state of the Process object at argument n.
func (vm *VM) state(L *lua.LState, n int) *procState {
	obj := L.CheckTable(n)
	st, ok := vm.procs[obj]
	if !ok {
		L.ArgError(n, "Process object expected")
	}
	return st
}

// live returns a started, not closed process's state.
func (vm *VM) live(L *lua.LState, method string) *procState {
	st := vm.state(L, 1)
	switch {
	case st.closed:
		L.RaiseError("Process.%s: the process object is closed", method)
	case st.self:
		L.RaiseError("Process.%s: a process cannot %s itself", method, method)
	case !st.started:
		L.RaiseError("Process.%s: the process has not been started", method)
	}
	return st
}

func (vm *VM) processStart(L *lua.LState) int {
	st := vm.state(L, 1)
	switch {
	case st.closed:
		L.RaiseError("Process.start: the process object is closed")
	case st.started || st.self:
		L.RaiseError("Process.start: a process can only be started once")
	}
	payload := vm.processPayload(L, "Process.start", L.CheckTable(1), st)
	status, err := vm.runtime.Spawn(vm.ctx, SpawnRequest{Name: st.name, Daemon: st.daemon, Identity: st.identity, Payload: payload})
	if err != nil {
		L.RaiseError("Process.start: %v", err)
	}
	st.started, st.id, st.pid = true, status.ID, status.Pid
	vm.started = append(vm.started, L.CheckTable(1))
	return 0
}

// processPayload encodes what a child needs to run a Process object: the
// object itself, its target and arguments (see RunProcess).
func (vm *VM) processPayload(L *lua.LState, fname string, obj *lua.LTable, st *procState) []byte {
	spec := L.CreateTable(0, 4)
	spec.RawSetString("instance", obj)
	spec.RawSetString("target", st.target)
	spec.RawSetString("args", st.args)
	spec.RawSetString("kwargs", st.kwargs)
	payload, err := vm.Encode("", spec)
	if err != nil {
		L.RaiseError("%s: %v", fname, err)
	}
	return payload
}

func (vm *VM) processJoin(L *lua.LState) int {
	st := vm.live(L, "join")
	d, limited := checkTimeout(L, 2, "Process.join")
	status, err := vm.runtime.Wait(vm.ctx, st.id, d, !limited)
	if err != nil {
		vm.raiseRuntime(L, "Process.join", err)
	}
	st.update(status)
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
	if !st.started || st.ended || st.closed {
		return
	}
	status, err := vm.runtime.Status(st.id)
	if err != nil {
		vm.raiseRuntime(L, "Process", err)
	}
	st.update(status)
}

func (vm *VM) processIsAlive(L *lua.LState) int {
	st := vm.state(L, 1)
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
	st := vm.live(L, method)
	if st.ended {
		return 0
	}
	if err := vm.runtime.Signal(st.id, sig); err != nil {
		vm.raiseRuntime(L, "Process."+method, err)
	}
	return 0
}

func (vm *VM) processClose(L *lua.LState) int {
	st := vm.state(L, 1)
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
	return 0
}

// processRun is the default run: target(unpack(args)), with kwargs as one
// more last argument when given.
func (vm *VM) processRun(L *lua.LState) int {
	st := vm.state(L, 1)
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
	parent := L.CheckTable(1)
	sub := L.NewTable()
	for _, k := range []string{"__index", "__newindex", "__tostring"} {
		sub.RawSetString(k, vm.processClass.RawGetString(k))
	}
	meta := L.NewTable()
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
	if st, ok := vm.procs[obj]; ok {
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
		if st.self {
			return lua.LNumber(os.Getpid()), true
		}
		if !st.started {
			return lua.LNil, true
		}
		return lua.LNumber(st.pid), true
	case "exitcode":
		vm.refresh(L, st)
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
	st, ok := vm.procs[obj]
	k, isString := key.(lua.LString)
	if !ok || !isString {
		L.RawSet(obj, key, value)
		return 0
	}
	switch k {
	case "name":
		st.name = L.CheckString(3)
	case "daemon":
		if st.started {
			L.RaiseError("Process.daemon: cannot be set once the process has started")
		}
		st.daemon = lua.LVAsBool(value)
	case "pid", "exitcode":
		L.RaiseError("Process.%s is read-only", string(k))
	default:
		L.RawSet(obj, key, value)
	}
	return 0
}

func (vm *VM) processToString(L *lua.LState) int {
	st := vm.state(L, 1)
	vm.refresh(L, st)
	s := fmt.Sprintf("<Process name='%s'", st.name)
	switch {
	case st.self:
		s += fmt.Sprintf(" pid=%d started", os.Getpid())
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
		st := vm.procs[obj]
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

// RunProcess runs, in a child, the process a parent's start() sent: it
// rebuilds the object, its target and arguments, and calls obj:run().
func (vm *VM) RunProcess(payload []byte) error {
	v, err := vm.Decode(payload)
	if err != nil {
		return err
	}
	spec, ok := v.(*lua.LTable)
	if !ok {
		return errors.New("process payload is not a table")
	}
	obj, ok := spec.RawGetString("instance").(*lua.LTable)
	if !ok {
		return errors.New("process payload has no instance")
	}
	self := vm.runtime.Self()
	vm.procs[obj] = &procState{
		name: self.Name, identity: self.Identity, self: true, started: true,
		target: spec.RawGetString("target"), args: spec.RawGetString("args"), kwargs: spec.RawGetString("kwargs"),
	}
	_, err = vm.Call(vm.L.GetField(obj, "run"), obj)
	return err
}

// Finish does what Python does as a process exits: it ends the daemonic
// children this VM started (EndProcesses), then waits for the others.
func (vm *VM) Finish() {
	ctx := vm.ctx
	for id := range vm.pools { // as a Python pool is terminated when collected
		vm.runtime.Invoke(ctx, ObjectCall{ID: id, Op: "terminate"})
	}
	var daemons []uint64
	for _, obj := range vm.started {
		if st := vm.procs[obj]; st.daemon && !st.ended && !st.closed {
			daemons = append(daemons, st.id)
		}
	}
	EndProcesses(ctx, vm.runtime, daemons)
	for _, obj := range vm.started {
		if st := vm.procs[obj]; !st.ended && !st.closed {
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
