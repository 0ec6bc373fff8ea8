package vm

import (
	"reflect"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// A protected call runs on a helper thread of its own (pcall.go), so the
// stack that a script sees is split across threads: the helper's frames,
// then, below the pcall or xpcall frame, those of the thread that called
// it, and so on down. This file gives debug.traceback and error levels that
// stack back, as one.
//
// Levels are counted as Lua 5.1 and gopher-lua's GetStack count them: a
// frame that tail calls replaced is followed by one level per tail call,
// which GetStack gives as the thread's bottom frame, and which a traceback
// prints as "(tailcall): ?". gopher-lua keeps the tail-call count and the
// frame's identity where its API does not show them; frameOf and tailCalls
// read them (TestTracebackAsGopherLua checks them against gopher-lua's own
// traceback).

// tracebackLines is how many lines past which a traceback shows only its
// first and last tracebackEnds, as gopher-lua's does.
const (
	tracebackLines = 20
	tracebackEnds  = 7
)

// debugFrame is the index of lua.Debug's unexported frame field.
var debugFrame = func() int {
	f, ok := reflect.TypeOf(lua.Debug{}).FieldByName("frame")
	if !ok {
		panic("script: lua.Debug has no frame field")
	}
	return f.Index[0]
}()

// frameOf identifies the call frame of dbg.
func frameOf(dbg *lua.Debug) uintptr {
	return reflect.ValueOf(dbg).Elem().Field(debugFrame).Pointer()
}

// tailCalls returns how many tail calls replaced the frame of dbg: the
// levels that follow it and stand for the replaced frames.
func tailCalls(dbg *lua.Debug) int {
	frame := reflect.ValueOf(dbg).Elem().Field(debugFrame)
	if frame.IsNil() {
		return 0
	}
	fn := frame.Elem().FieldByName("Fn")
	if fn.IsNil() || fn.Elem().FieldByName("IsG").Bool() {
		return 0
	}
	return int(frame.Elem().FieldByName("TailCall").Int())
}

// threadStack is the stack of one thread, as a traceback lists it.
type threadStack struct {
	L      *lua.LState
	helper bool    // a helper thread of pcall or xpcall
	levels int     // levels on the stack
	bottom uintptr // the bottom frame, which GetStack gives for a tail-call level
	last   int     // the level of the bottom frame itself
	skip   int     // the level of xpcall's handler wrapper, hidden, or -1
}

// levelCount returns the number of levels on L's stack. GetStack walks the
// stack from its top, so a binary search keeps this O(n log n).
func levelCount(L *lua.LState) int {
	ok := func(level int) bool { _, ok := L.GetStack(level); return ok }
	if !ok(0) {
		return 0
	}
	lo, hi := 0, 1
	for ok(hi) {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// newThreadStack describes L's stack as it is now.
func (vm *VM) newThreadStack(L *lua.LState) threadStack {
	s := threadStack{L: L, levels: levelCount(L), skip: -1}
	if s.levels > 0 {
		bottom, _ := L.GetStack(-1)
		s.bottom = frameOf(bottom)
		s.last = s.levels - 1 - tailCalls(bottom)
	}
	if call := vm.owners[L]; call != nil {
		s.helper = true
		if call.wrapper >= 0 {
			s.skip = s.levels - 1 - call.wrapper
		}
	}
	return s
}

// isTailCall reports whether level of L's stack, which GetStack gave as
// dbg, stands for a frame that a tail call replaced.
func isTailCall(L *lua.LState, level int, dbg *lua.Debug) bool {
	bottom, _ := L.GetStack(-1)
	if frameOf(dbg) != frameOf(bottom) {
		return false
	}
	return level != levelCount(L)-1-tailCalls(bottom)
}

// isTailCall is the function isTailCall for this stack.
func (s *threadStack) isTailCall(level int, dbg *lua.Debug) bool {
	return level != s.last && frameOf(dbg) == s.bottom
}

// line formats one level as gopher-lua's traceback does, except that the
// function a helper thread runs is named as a function called by pcall, as
// it is in Lua.
func (s *threadStack) line(level int) string {
	dbg, ok := s.L.GetStack(level)
	if !ok {
		return "\t?"
	}
	if s.isTailCall(level, dbg) {
		return "\t(tailcall): ?"
	}
	fn, err := s.L.GetInfo("Slnf", dbg, lua.LNil)
	if err != nil {
		return "\t?"
	}
	where := "[G]:"
	isG := fn.(*lua.LFunction).IsG
	if !isG {
		where = dbg.Source + ":" + strconv.Itoa(dbg.CurrentLine) + ":"
	}
	name := dbg.Name
	switch {
	case dbg.What == "main" && s.helper && !isG:
		name = "function <" + dbg.Source + ":" + strconv.Itoa(dbg.LineDefined) + ">"
	case dbg.What == "main":
	case name != "" && name[0] != '(' && name[0] != '<':
		name = "function '" + name + "'"
	default:
		name = "function " + name
	}
	return "\t" + where + " in " + name
}

// stackOf returns the stack that a traceback of L shows: L's, then, while
// L is a helper thread, that of the thread that called pcall or xpcall.
func (vm *VM) stackOf(L *lua.LState) []threadStack {
	var stacks []threadStack
	for {
		stacks = append(stacks, vm.newThreadStack(L))
		call := vm.owners[L]
		if call == nil {
			return stacks
		}
		L = call.owner
	}
}

// traceback is gopher-lua's stack traceback of the stacks, from level on.
// It formats only the lines it prints, so that a traceback of a deep
// stack costs O(n log n), not O(n^2).
func traceback(stacks []threadStack, level int) string {
	total := 1 // the closing "[G]: ?"
	for _, s := range stacks {
		total += s.levels
		if s.skip >= 0 {
			total--
		}
	}
	level = max(0, min(level, total))
	lineAt := func(i int) string {
		for _, s := range stacks {
			n := s.levels
			if s.skip >= 0 {
				n--
			}
			if i < n {
				if s.skip >= 0 && i >= s.skip {
					i++
				}
				return s.line(i)
			}
			i -= n
		}
		return "\t[G]: ?"
	}
	var b strings.Builder
	b.WriteString("stack traceback:")
	for i := level; i < total; i++ {
		if total-level > tracebackLines && i == level+tracebackEnds {
			b.WriteString("\n\t...")
			i = total - tracebackEnds
		}
		b.WriteString("\n")
		b.WriteString(lineAt(i))
	}
	return b.String()
}

// levelOn returns the thread and the level on it of level of L's stack,
// which goes on down from a helper thread to the thread that called pcall,
// and whether there is such a level.
func (vm *VM) levelOn(L *lua.LState, level int) (*lua.LState, *lua.Debug, int, bool) {
	dbg, ok := L.GetStack(level)
	for !ok {
		call := vm.owners[L]
		if call == nil {
			return L, nil, level, false
		}
		L, level = call.owner, level-levelCount(L)
		dbg, ok = L.GetStack(level)
	}
	return L, dbg, level, true
}

// builtinGetInfo is debug.getinfo(f | level [, what]), gopher-lua's, where
// a level counts down through every pcall and xpcall, and the function a
// helper thread runs reads as a Lua function, not a main chunk.
func (vm *VM) builtinGetInfo(L *lua.LState) int {
	n, isLevel := L.Get(1).(lua.LNumber)
	if !isLevel {
		return vm.getInfo(L)
	}
	T, dbg, level, ok := vm.levelOn(L, int(n))
	if !ok || (T == L && vm.owners[T] == nil) {
		return vm.getInfo(L)
	}
	fn, err := T.GetInfo(L.OptString(2, "Slunf"), dbg, lua.LNil)
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	if vm.owners[T] != nil && dbg.What == "main" && level == levelCount(T)-1-tailCalls(dbg) {
		dbg.What = "Lua"
		if tailCalls(dbg) > 0 {
			dbg.What = "tail"
		}
		if dbg.Name != "" {
			dbg.Name = "<" + dbg.Source + ":" + strconv.Itoa(dbg.LineDefined) + ">"
		}
	}
	info := L.NewTable()
	if dbg.Name != "" {
		info.RawSetString("name", lua.LString(dbg.Name))
	}
	info.RawSetString("what", lua.LString(dbg.What))
	info.RawSetString("source", lua.LString(dbg.Source))
	info.RawSetString("currentline", lua.LNumber(dbg.CurrentLine))
	info.RawSetString("nups", lua.LNumber(dbg.NUpvalues))
	info.RawSetString("linedefined", lua.LNumber(dbg.LineDefined))
	info.RawSetString("lastlinedefined", lua.LNumber(dbg.LastLineDefined))
	info.RawSetString("func", fn)
	L.Push(info)
	return 1
}

// builtinTraceback is debug.traceback([thread | message] [, level]), with
// gopher-lua's arguments. The current thread's traceback goes on below
// every pcall and xpcall it is in.
func (vm *VM) builtinTraceback(L *lua.LState) int {
	msg := ""
	level := L.OptInt(2, 1)
	stacks := []threadStack(nil)
	switch v := L.Get(1).(type) {
	case lua.LString:
		msg = string(v)
	case *lua.LState:
		if v != L && v != vm.scriptThread(L) {
			stacks = []threadStack{vm.newThreadStack(v)}
		}
	}
	if stacks == nil {
		stacks = vm.stackOf(L)
	}
	tb := traceback(stacks, level)
	if msg != "" {
		tb = msg + "\n" + tb
	}
	L.Push(lua.LString(tb))
	return 1
}
