package script

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// UnpackArgs checks the arguments of a Go function called from Lua and
// stores them, in the manner of starlark-go's UnpackArgs. pairs alternate a
// parameter's name and a pointer to where its value goes; a name ending in
// "?" is optional (its variable keeps its value when the argument is nil or
// absent). The pointer's type says what the argument must be:
//
//	*string, *bool, *float64, *int, *int64   a string, a boolean, a number (whole for the ints)
//	**lua.LTable, **lua.LFunction             a table, a function
//	*lua.LValue                               any value
//	*any                                      any value, converted with FromLua
//
// A missing, surplus or wrong argument raises a Lua error at the caller's
// "file:line:" that names fname and the parameter:
//
//	func dist(L *lua.LState) int {
//		var x, y float64
//		script.UnpackArgs(L, "geo.dist", "x", &x, "y", &y)
//		...
//	}
func UnpackArgs(L *lua.LState, fname string, pairs ...any) {
	if len(pairs)%2 != 0 {
		panic("script.UnpackArgs: pairs must alternate names and pointers")
	}
	n := len(pairs) / 2
	if top := L.GetTop(); top > n {
		L.RaiseError("%s: got %d arguments, want at most %d", fname, top, n)
	}
	for i := 0; i < n; i++ {
		name, _ := pairs[2*i].(string)
		optional := strings.HasSuffix(name, "?")
		name = strings.TrimSuffix(name, "?")
		v := L.Get(i + 1)
		if v == lua.LNil {
			if optional {
				continue
			}
			if _, anyValue := pairs[2*i+1].(*lua.LValue); !anyValue {
				L.RaiseError("%s: missing argument #%d (%s)", fname, i+1, name)
			}
		}
		if msg := unpackOne(v, pairs[2*i+1]); msg != "" {
			L.RaiseError("%s: argument #%d (%s) %s, got %s", fname, i+1, name, msg, v.Type())
		}
	}
}

// unpackOne stores v in ptr, or says what v should have been.
func unpackOne(v lua.LValue, ptr any) string {
	switch p := ptr.(type) {
	case *string:
		s, ok := v.(lua.LString)
		if !ok {
			return "must be a string"
		}
		*p = string(s)
	case *bool:
		b, ok := v.(lua.LBool)
		if !ok {
			return "must be a boolean"
		}
		*p = bool(b)
	case *float64:
		f, ok := v.(lua.LNumber)
		if !ok {
			return "must be a number"
		}
		*p = float64(f)
	case *int, *int64:
		f, ok := v.(lua.LNumber)
		if !ok || float64(f) != float64(int64(f)) {
			return "must be a whole number"
		}
		if ip, isInt := p.(*int); isInt {
			*ip = int(f)
		} else {
			*p.(*int64) = int64(f)
		}
	case **lua.LTable:
		t, ok := v.(*lua.LTable)
		if !ok {
			return "must be a table"
		}
		*p = t
	case **lua.LFunction:
		f, ok := v.(*lua.LFunction)
		if !ok {
			return "must be a function"
		}
		*p = f
	case *lua.LValue:
		*p = v
	case *any:
		g, err := FromLua(v)
		if err != nil {
			return "must convert to Go (" + err.Error() + ")"
		}
		*p = g
	default:
		panic(fmt.Sprintf("script.UnpackArgs: cannot unpack into a %T", ptr))
	}
	return ""
}
