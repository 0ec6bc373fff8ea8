package vm

import (
	"io"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// stream is the writer behind io.stdout or io.stderr of a VM. gopher-lua's
// own io library writes to the process's file descriptors, captured at start;
// mphost sends a VM's output wherever its Options say (in a child: to the
// host), so print, io.write and the two standard files are replaced.
type stream struct {
	name string
	w    io.Writer
	ud   *lua.LUserData // the Lua face, set by openOutput
}

func newStream(name string, w io.Writer) *stream { return &stream{name: name, w: w} }

const streamClass = "mphost.stream"

// openOutput installs print, io.write, io.stdout and io.stderr writing to the
// VM's streams. io.output(file) still redirects io.write to a real file.
func (vm *VM) openOutput() {
	L := vm.L
	mt := L.NewTypeMetatable(streamClass)
	methods := funcTable(L, map[string]lua.LGFunction{
		"write": func(L *lua.LState) int {
			s := checkStream(L, 1)
			return writeArgs(L, s, 2, L.Get(1))
		},
		"flush":   func(L *lua.LState) int { checkStream(L, 1); L.Push(lua.LTrue); return 1 },
		"setvbuf": func(L *lua.LState) int { checkStream(L, 1); L.Push(lua.LTrue); return 1 },
		"close": func(L *lua.LState) int {
			L.Push(lua.LNil)
			L.Push(lua.LString("cannot close standard file"))
			return 2
		},
		"read": func(L *lua.LState) int {
			L.Push(lua.LNil)
			L.Push(lua.LString(checkStream(L, 1).name + " is not readable"))
			return 2
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("file (" + checkStream(L, 1).name + ")"))
		return 1
	}))
	for _, s := range []*stream{vm.stdout, vm.stderr} {
		s.ud = L.NewUserData()
		s.ud.Value = s
		s.ud.Metatable = mt
	}

	L.SetGlobal("print", L.NewFunction(vm.builtinPrint))
	ioTable := L.GetGlobal("io").(*lua.LTable)
	ioTable.RawSetString("stdout", vm.stdout.ud)
	ioTable.RawSetString("stderr", vm.stderr.ud)

	// io.write goes to the stream until io.output names another file.
	origWrite := ioTable.RawGetString("write")
	origOutput := ioTable.RawGetString("output")
	redirected := false
	ioTable.RawSetString("write", L.NewFunction(func(L *lua.LState) int {
		if redirected {
			return forward(L, origWrite)
		}
		return writeArgs(L, vm.stdout, 1, vm.stdout.ud)
	}))
	ioTable.RawSetString("output", L.NewFunction(func(L *lua.LState) int {
		switch arg := L.Get(1).(type) {
		case *lua.LNilType:
			if !redirected {
				L.Push(vm.stdout.ud)
				return 1
			}
		case *lua.LUserData:
			if s, ok := arg.Value.(*stream); ok {
				redirected = s != vm.stdout
				L.Push(arg)
				return 1
			}
		}
		redirected = true
		return forward(L, origOutput)
	}))
}

// forward calls fn with the current arguments and returns its results.
func forward(L *lua.LState, fn lua.LValue) int {
	top := L.GetTop()
	L.Push(fn)
	for i := 1; i <= top; i++ {
		L.Push(L.Get(i))
	}
	L.Call(top, lua.MultRet)
	return L.GetTop() - top
}

func checkStream(L *lua.LState, n int) *stream {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*stream); ok {
			return s
		}
	}
	L.ArgError(n, "file expected")
	return nil
}

// writeArgs writes arguments from index first on as io.write does (strings
// and numbers only) in one Write, and returns self as file:write does.
func writeArgs(L *lua.LState, s *stream, first int, self lua.LValue) int {
	var b strings.Builder
	for i := first; i <= L.GetTop(); i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			b.WriteString(string(v))
		case lua.LNumber:
			b.WriteString(v.String())
		default:
			L.ArgError(i, "string expected, got "+v.Type().String())
		}
	}
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(self)
	return 1
}

// builtinPrint writes its arguments, tostring'd and tab-separated, as one
// line in one Write.
func (vm *VM) builtinPrint(L *lua.LState) int {
	var b strings.Builder
	top := L.GetTop()
	for i := 1; i <= top; i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	b.WriteByte('\n')
	io.WriteString(vm.stdout.w, b.String())
	return 0
}
