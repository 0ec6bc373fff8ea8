package vm

import (
	"errors"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua v1.1.2 closes open upvalues wrongly around a caught error (its
// issue #448): an error raised while the thread's private hasErrorFunc flag
// is false closes the upvalues of every frame on the thread, those below
// the pcall included, so that closures stop sharing the locals of functions
// still running; PCall clears the flag whenever it returns, so after any
// nested protected call the next caught error does so. With the flag set,
// nothing is closed at all, and closures made in the unwound frames keep
// pointing at stack slots that PCall clears and later calls reuse.
//
// So mphost's pcall and xpcall run the protected function on a thread of
// their own (a free one is reused), with a message handler that closes that
// thread's upvalues, which belong to the unwound frames only, while their
// values are still in place; the caller's thread is left alone. Having a
// handler also spares PCall the traceback it formats for every error it
// catches without one, a cost that grows with the square of the depth.
// The helper thread shares the globals and the running coroutine.

// maxPCallDepth bounds pcalls nested in one another, each on a thread of
// its own, as Lua 5.1 bounds nested C calls (200).
const maxPCallDepth = 200

// helperCall is a helper thread, and the protected call it runs when in use.
type helperCall struct {
	T       *lua.LState
	owner   *lua.LState    // the thread that called pcall or xpcall
	handler *lua.LFunction // xpcall's message handler, or nil
	wrapper int            // while the handler runs, the level of its wrapper from the stack's bottom; else -1
}

// protectedCall calls the function below the nargs arguments at the top of
// L's stack in protected mode on a helper thread, and leaves its results
// on L's stack in their place. handler, when not nil, is xpcall's message
// handler: it runs where the error was raised.
func (vm *VM) protectedCall(L *lua.LState, nargs int, handler *lua.LFunction) error {
	if len(vm.owners) >= maxPCallDepth {
		L.Pop(nargs + 1)
		return &lua.ApiError{Type: lua.ApiErrorRun, Object: lua.LString("stack overflow (pcall nested too deep)")}
	}
	if goCallable(L, L.Get(-nargs-1)) {
		// A Go function runs where it is: it has no upvalues to lose, and
		// its errors name the Lua line that called pcall, as they did.
		if handler == nil {
			handler = vm.passError
		}
		vm.inPlace = append(vm.inPlace, L)
		defer func() { vm.inPlace = vm.inPlace[:len(vm.inPlace)-1] }()
		return L.PCall(nargs, lua.MultRet, handler)
	}
	call := vm.helperThread()
	T := call.T
	call.owner, call.handler, call.wrapper = L, handler, -1
	vm.owners[T] = call
	defer delete(vm.owners, T)
	L.XMoveTo(T, nargs+1)
	closing := vm.closeOnError
	if handler != nil {
		closing = vm.handleThenClose
	}
	err := T.PCall(nargs, lua.MultRet, closing)
	if err == nil {
		T.XMoveTo(L, T.GetTop())
	}
	T.SetTop(0)
	call.owner, call.handler = nil, nil
	vm.threads = append(vm.threads, call)
	return err
}

// handleThenCloseHandler is xpcall's message handler on a helper thread: it
// calls the script's handler, then closes the thread's upvalues. Tracebacks
// leave its own frame out.
func (vm *VM) handleThenCloseHandler(T *lua.LState) int {
	call := vm.owners[T]
	call.wrapper = levelCount(T) - 1
	T.Insert(call.handler, 1)
	T.Call(T.GetTop()-1, 1)
	call.wrapper = -1
	return vm.closeUpvalues(T)
}

// scriptThread returns the thread that the script runs on as it sees it:
// L, or when L is a helper thread, the thread below every pcall and xpcall
// that L's call is in.
func (vm *VM) scriptThread(L *lua.LState) *lua.LState {
	for call := vm.owners[L]; call != nil; call = vm.owners[L] {
		L = call.owner
	}
	return L
}

// goCallable says whether v is a Go function, or a value whose __call is
// one (an mp class such as mp.Process).
func goCallable(L *lua.LState, v lua.LValue) bool {
	fn, ok := v.(*lua.LFunction)
	if !ok {
		fn, ok = L.GetMetaField(v, "__call").(*lua.LFunction)
	}
	return ok && fn.IsG
}

// helperThread returns a free thread for protectedCall.
func (vm *VM) helperThread() *helperCall {
	if n := len(vm.threads); n > 0 {
		call := vm.threads[n-1]
		vm.threads = vm.threads[:n-1]
		return call
	}
	T, _ := vm.L.NewThread()
	return &helperCall{T: T}
}

// closeOnErrorHandler is pcall's message handler: it closes the upvalues of the
// helper thread it runs on and leaves the error value as it is.
func (vm *VM) closeOnErrorHandler(T *lua.LState) int { return vm.closeUpvalues(T) }

// errUpvaluesClosed stops the raise by which closeUpvalues closes them.
var errUpvaluesClosed = errors.New("upvalues closed")

// closeUpvalues closes the open upvalues of every frame on helper thread T,
// where an error was raised, and returns 1, leaving the value at T's top.
// gopher-lua closes them when an error is raised with the thread's flag
// cleared, which a protected call does when it returns: so a no-op is
// called in protected mode, then an error raised and stopped in Go before
// it unwinds anything.
func (vm *VM) closeUpvalues(T *lua.LState) int {
	T.Push(vm.noop)
	_ = T.PCall(0, 0, nil)
	panics := T.Panic
	T.Panic = func(*lua.LState) { panic(errUpvaluesClosed) }
	func() {
		defer func() {
			if r := recover(); r != errUpvaluesClosed {
				panic(r)
			}
		}()
		T.Error(lua.LNil, 0)
	}()
	T.Panic = panics
	T.Pop(1) // the nil raised
	return 1
}

// passError is the message handler of pcall of a Go function: it leaves the
// error as it is, and spares PCall the formatting of a traceback.
func passError(*lua.LState) int { return 1 }

// noop does nothing; closeUpvalues calls it for what PCall does on return.
func noop(*lua.LState) int { return 0 }

// errorValue is the value a caught error carries.
func errorValue(err error) lua.LValue {
	if apiErr, ok := err.(*lua.ApiError); ok {
		return apiErr.Object
	}
	return lua.LString(err.Error())
}

// openProtected installs pcall, xpcall and error; openExit wraps the first
// two afterwards.
func (vm *VM) openProtected() {
	L := vm.L
	vm.noop = L.NewFunction(noop)
	vm.closeOnError = L.NewFunction(vm.closeOnErrorHandler)
	vm.handleThenClose = L.NewFunction(vm.handleThenCloseHandler)
	vm.owners = make(map[*lua.LState]*helperCall)
	vm.passError = L.NewFunction(passError)
	L.SetGlobal("pcall", L.NewFunction(vm.builtinPCall))
	L.SetGlobal("xpcall", L.NewFunction(vm.builtinXPCall))
	L.SetGlobal("error", L.NewFunction(vm.builtinError))
	debug := L.GetGlobal("debug")
	vm.getInfo = L.GetField(debug, "getinfo").(*lua.LFunction).GFunction
	L.SetField(debug, "getinfo", L.NewFunction(vm.builtinGetInfo))
	L.SetField(debug, "traceback", L.NewFunction(vm.builtinTraceback))
	vm.openThreads()
}

// builtinPCall is Lua's pcall(f, ...), through protectedCall.
func (vm *VM) builtinPCall(L *lua.LState) int {
	v := L.CheckAny(1)
	if v.Type() != lua.LTFunction && L.GetMetaField(v, "__call").Type() != lua.LTFunction {
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
		return 2
	}
	if err := vm.protectedCall(L, L.GetTop()-1, nil); err != nil {
		L.Push(lua.LFalse)
		L.Push(errorValue(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// builtinXPCall is Lua's xpcall(f, handler), through protectedCall: the
// handler runs where the error was raised, with the stack still there.
func (vm *VM) builtinXPCall(L *lua.LState) int {
	fn := L.CheckFunction(1)
	handler := L.CheckFunction(2)
	top := L.GetTop()
	L.Push(fn)
	if err := vm.protectedCall(L, 0, handler); err != nil {
		L.Push(lua.LFalse)
		L.Push(errorValue(err))
		return 2
	}
	L.Insert(lua.LTrue, top+1)
	return L.GetTop() - top
}

// builtinError is Lua 5.1's error(message [, level]): a string or number
// message gets the position of the function level levels up, as luaL_where
// gives it: none when that function is a Go function (pcall(error, "x")
// raises "x") or when there is no such level.
func (vm *VM) builtinError(L *lua.LState) int {
	msg := L.Get(1)
	level := L.OptInt(2, 1)
	switch msg.(type) {
	case lua.LString, lua.LNumber:
		if level > 0 {
			msg = lua.LString(vm.where(L, level) + lua.LVAsString(msg))
		}
	}
	L.Error(msg, 0)
	return 0
}

// where is luaL_where: "source:line: " of the function level levels up
// the stack (1: the caller of the running Go function), or "" when that
// is a Go function, a level that a tail call replaced, or beyond the stack.
// On a helper thread of pcall the stack goes on down the thread that
// called pcall.
func (vm *VM) where(L *lua.LState, level int) string {
	L, dbg, level, ok := vm.levelOn(L, level)
	if !ok || isTailCall(L, level, dbg) {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.CurrentLine <= 0 {
		return ""
	}
	return dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ": "
}
