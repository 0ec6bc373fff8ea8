package vm

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/luaapi"
	"github.com/mphost/mphost/internal/ops"
)

// argCase is an argument for a parameter read as read: one the reader
// takes, and one it refuses with the error that says so.
func argCase(L *lua.LState, p argParam, fname, opName string) (good, bad lua.LValue, want string) {
	typed := fmt.Sprintf("bad argument #%d to ", p.pos)
	mustBe := fmt.Sprintf("(%s: %s must be ", fname, p.name)
	switch p.read {
	case readBlock:
		return lua.LFalse, lua.LString("yes"), typed + "* " + mustBe
	case readTimeout:
		return lua.LNumber(0), L.NewTable(), typed + "* " + mustBe
	case readCount:
		return lua.LNumber(1), lua.LString("one"), typed + "* " + mustBe
	case readNumber, readString:
		return lua.LNumber(1), L.NewTable(), typed + "* " + mustBe
	}
	co, _ := L.NewThread()
	return lua.LNumber(1), co, fname + ": cannot send "
}

// matches reports whether text holds want's parts, split at "* ", in order.
func matches(text, want string) bool {
	for _, part := range strings.Split(want, "* ") {
		i := strings.Index(text, part)
		if i < 0 {
			return false
		}
		text = text[i+len(part):]
	}
	return true
}

// TestMethodArgsAsDeclared walks every operation of internal/ops that a
// method of a declared class performs, and calls each such method on a VM
// without a host: every parameter luaapi declares must be read (a wrong
// value raises "bad argument #k to ... (Kind.method: name must be ...",
// a value that cannot cross processes raises "Kind.method: cannot send",
// a nil where NotNil raises "cannot put nil"), and no argument past them
// may be read (a call with valid ones and a wrong one after them reaches
// the runtime). A method named as its operation must have its arguments
// derived from the declarations.
func TestMethodArgsAsDeclared(t *testing.T) {
	readers, reasons := methodArgs()
	v := New(Options{Stdout: io.Discard, Stderr: io.Discard})
	defer v.Close()
	L := v.L
	call := func(fn lua.LValue, args ...lua.LValue) string {
		if err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true}, args...); err != nil {
			if apiErr, ok := err.(*lua.ApiError); ok {
				return lua.LVAsString(apiErr.Object)
			}
			return err.Error()
		}
		return ""
	}
	checked := 0
	for op := ops.None + 1; op < ops.NumOps; op++ {
		d := op.Decl()
		for _, kind := range d.Kinds {
			c, ok := luaapi.MP.Class(kind)
			if !ok {
				continue // a transport operation, or the Pool's protocol
			}
			for _, f := range luaapi.MP.AllMethods(c) {
				name := kind + "." + f.Name
				if got, err := luaapi.MP.OpOf(c, &f); err != nil || got != op {
					continue
				}
				a, ok := readers[name]
				if !ok {
					if f.Op == "" {
						t.Errorf("%s performs %s, but its arguments are not derived from the declarations: %v", name, op, reasons[name])
					}
					continue // a method that does more than its operation (with, wait_for, Pool.map)
				}
				checked++
				self := v.newObjectUserdata(kind, 1)
				fn := L.GetField(self, f.Name)
				if _, ok := fn.(*lua.LFunction); !ok {
					t.Errorf("%s is not bound", name)
					continue
				}
				if len(a.params) != len(f.Params) {
					t.Errorf("%s reads %d arguments, declares %d", name, len(a.params), len(f.Params))
					continue
				}
				good := []lua.LValue{self}
				for _, p := range a.params {
					g, _, _ := argCase(L, p, a.fname, d.Name)
					good = append(good, g)
				}
				for i, p := range a.params {
					_, bad, want := argCase(L, p, a.fname, d.Name)
					args := slices.Clone(good)
					args[i+1] = bad
					if got := call(fn, args...); !matches(got, want) {
						t.Errorf("%s with a wrong %s (#%d): raised %q, want %q", name, p.name, p.pos, got, want)
					}
					if f.Params[i].NotNil {
						args[i+1] = lua.LNil
						if got, want := call(fn, args...), a.fname+": cannot "+d.Name+" nil"; !strings.Contains(got, want) {
							t.Errorf("%s with a nil %s: raised %q, want %q", name, p.name, got, want)
						}
					}
				}
				// An argument past the declared ones is not read: the call
				// reaches the runtime.
				args := append(slices.Clone(good), L.NewTable())
				if got := call(fn, args...); !strings.Contains(got, errNoHost.Error()) {
					t.Errorf("%s with an undeclared argument #%d: raised %q, want the runtime's %q", name, len(args), got, errNoHost)
				}
			}
		}
	}
	t.Logf("%d methods checked", checked)
	if checked < 40 {
		t.Errorf("%d methods checked: the walk missed the classes", checked)
	}
}
