package vm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/luaapi"
	"github.com/mphost/mphost/internal/ops"
)

// A method of a shared object that performs one operation reads its
// arguments as internal/luaapi declares its parameters (position, type,
// optional, default) into the fields of the ObjectCall that the
// operation's row in internal/ops declares: the parameters block and
// timeout give ops.Wait, and any other parameter the one other field the
// row declares (ops.Value, ops.Count), read by its declared type. Each
// method's reader is built once per process, from the declarations.

// argRead is how one parameter is read.
type argRead uint8

const (
	readBlock   argRead = iota // a boolean: Wait.Block
	readTimeout                // seconds: Wait.Forever and Wait.Timeout
	readCount                  // an integer: Count
	readNumber                 // a number: Value, kept a number
	readString                 // a string: Value, encoded
	readAny                    // any value that can cross processes: Value, encoded
)

// argParam is one declared parameter of a method.
type argParam struct {
	read   argRead
	pos    int    // its Lua argument; self is 1
	name   string // as declared: "timeout"
	typ    string // as declared: "boolean"
	notNil bool   // readAny: nil is refused
	// optional: readCount takes nil as its default; readNumber and
	// readString are never optional (bindArgs refuses it).
	optional bool
	// What an omitted one gives: readBlock's Block, readCount's Count, and
	// readTimeout's whole Wait when it declares a default (hasWait).
	block   bool
	count   int64
	hasWait bool
	wait    Wait
}

// opArgs reads the arguments of one method into its operation's call.
type opArgs struct {
	kind   string
	method string
	fname  string // what its errors start with: "Queue.put_nowait"
	op     ops.Op
	wait   Wait       // the call's Wait before a parameter gives it
	sent   sentValue  // how a Value argument is encoded
	params []argParam // in the order of their positions
}

// sentValue is how a script's value sent by an operation is encoded: the
// name errors give it ("cannot send item: ..."), and whether a number
// stays a number (a Value adds to it).
type sentValue struct {
	root   string
	number bool
}

// sentValues are the operations whose Value argument is a script's value.
var sentValues = map[ops.Op]sentValue{
	ops.QueuePut:       {root: "item"},
	ops.ConnectionSend: {root: "message"},
	ops.ValueSet:       {root: "value", number: true},
}

// read checks the object at argument 1 and reads the arguments after it
// into the call it returns, raising as each parameter's declaration says.
func (a *opArgs) read(vm *VM, L *lua.LState) ObjectCall {
	call := ObjectCall{ID: vm.checkObject(L, a.kind, a.method).id, Op: a.op, Wait: a.wait}
	for i := range a.params {
		p := &a.params[i]
		v := L.Get(p.pos)
		switch p.read {
		case readBlock:
			call.Wait.Block = p.block
			if v != lua.LNil {
				b, ok := v.(lua.LBool)
				if !ok {
					p.typeError(L, a.fname, v)
				}
				call.Wait.Block = bool(b)
			}
		case readTimeout:
			if v == lua.LNil && p.hasWait {
				call.Wait = p.wait
				continue
			}
			d, limited := checkTimeout(L, p.pos, a.fname)
			call.Wait.Forever, call.Wait.Timeout = !limited, d
		case readCount:
			n, ok := v.(lua.LNumber)
			switch {
			case ok:
				call.Count = int64(n)
			case v == lua.LNil && p.optional:
				call.Count = p.count
			default:
				p.typeError(L, a.fname, v)
			}
		case readNumber:
			n, ok := numberOf(v)
			if !ok {
				p.typeError(L, a.fname, v)
			}
			call.Value = Value{Number: n, IsNumber: true}
		case readString:
			if !lua.LVCanConvToString(v) {
				p.typeError(L, a.fname, v)
			}
			call.Value = vm.encodeItem(L, a.fname, a.sent.root, lua.LString(lua.LVAsString(v)))
		case readAny:
			if v == lua.LNil && p.notNil {
				L.RaiseError("%s: cannot %s nil", a.fname, a.op.Decl().Name)
			}
			if a.sent.number {
				call.Value = vm.encodeValue(L, a.fname, a.sent.root, v)
			} else {
				call.Value = vm.encodeItem(L, a.fname, a.sent.root, v)
			}
		}
	}
	return call
}

// numberOf is v as a number, as Lua's arithmetic takes it: a number, or a
// string that spells one.
func numberOf(v lua.LValue) (float64, bool) {
	switch v := v.(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		s := strings.Trim(string(v), " \t\n")
		_, intErr := strconv.ParseInt(s, 0, 64)
		_, floatErr := strconv.ParseFloat(s, 64)
		return float64(lua.LVAsNumber(v)), intErr == nil || floatErr == nil
	}
	return 0, false
}

// checkFunction returns argument n, which must be a function, or raises naming fname and the
// argument: the checks of arguments that no declaration reads (args.go's readers raise so).
func checkFunction(L *lua.LState, n int, fname, name string) *lua.LFunction {
	fn, ok := L.Get(n).(*lua.LFunction)
	if !ok {
		L.ArgError(n, fname+": "+name+" must be a function, got "+L.Get(n).Type().String())
	}
	return fn
}

// typeError raises that argument p is not of its declared type.
func (p *argParam) typeError(L *lua.LState, fname string, v lua.LValue) {
	article := "a "
	if p.typ == "integer" {
		article = "an "
	}
	L.ArgError(p.pos, fname+": "+p.name+" must be "+article+p.typ+", got "+v.Type().String())
}

// methodArgs are the readers of every method that the declarations let
// the VM build, by "Kind.method", and why each other method of an
// operation has none.
var methodArgs = sync.OnceValues(func() (map[string]*opArgs, map[string]error) {
	readers, reasons := map[string]*opArgs{}, map[string]error{}
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		for _, f := range luaapi.MP.AllMethods(c) {
			name := c.Name + "." + f.Name
			a, err := bindArgs(c, &f)
			switch {
			case err != nil:
				reasons[name] = err
			case a != nil:
				readers[name] = a
			}
		}
	}
	return readers, reasons
})

// kindArgs are the readers of methodArgs by kind, in the order luaapi
// declares the methods.
var kindArgs = sync.OnceValue(func() map[string][]*opArgs {
	byKind := map[string][]*opArgs{}
	readers, _ := methodArgs()
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		for _, f := range luaapi.MP.AllMethods(c) {
			if a, ok := readers[c.Name+"."+f.Name]; ok {
				byKind[c.Name] = append(byKind[c.Name], a)
			}
		}
	}
	return byKind
})

// argsOf returns the reader of method of kind, which the declarations must
// let the VM build: the bindings name their methods in code.
func argsOf(kind, method string) *opArgs {
	readers, reasons := methodArgs()
	if a, ok := readers[kind+"."+method]; ok {
		return a
	}
	if err := reasons[kind+"."+method]; err != nil {
		panic("vm: " + err.Error())
	}
	panic("vm: " + kind + "." + method + " is not a declared method of an operation")
}

// bindArgs builds the reader of method f of class c; nil, nil when f
// performs no operation of c's kind, and an error when a parameter fills
// no field of the call or a field is filled by none.
func bindArgs(c *luaapi.Class, f *luaapi.Func) (*opArgs, error) {
	fname := c.Name + "." + f.Name
	op, err := luaapi.MP.OpOf(c, f)
	if err != nil {
		return nil, err
	}
	d := op.Decl()
	if op == ops.None || !slices.Contains(d.Kinds, c.Name) {
		return nil, nil
	}
	a := &opArgs{kind: c.Name, method: f.Name, fname: fname, op: op, sent: sentValues[op]}
	waits := d.Args.Has(ops.Wait) && !f.NoWait
	if waits {
		a.wait = Wait{Block: true, Forever: true}
	}
	other, filled := d.Args&^ops.Wait, ops.Fields(0)
	for i, p := range f.Params {
		ap := argParam{pos: i + 2, name: p.Name, typ: p.Type, notNil: p.NotNil, optional: p.Optional}
		var field ops.Fields
		switch {
		case p.Name == "block" && p.Type == "boolean" && waits:
			ap.read, ap.block = readBlock, p.Default != "false"
		case p.Name == "timeout" && p.Type == "number" && waits:
			ap.read = readTimeout
			if p.Default != "" {
				secs, err := strconv.ParseFloat(p.Default, 64)
				if err != nil {
					return nil, fmt.Errorf("%s: timeout's default %q is not a number", fname, p.Default)
				}
				ap.hasWait = true
				if secs > 0 {
					ap.wait = Wait{Block: true, Timeout: time.Duration(secs * float64(time.Second))}
				}
			}
		case other == ops.Count && p.Type == "integer":
			ap.read, field = readCount, ops.Count
			if p.Default != "" {
				if ap.count, err = strconv.ParseInt(p.Default, 10, 64); err != nil {
					return nil, fmt.Errorf("%s: %s's default %q is not an integer", fname, p.Name, p.Default)
				}
			}
		case other == ops.Value && (p.Type == "number" || p.Type == "string") && p.Optional:
			return nil, fmt.Errorf("%s: optional parameter %s (%s) has no value to take", fname, p.Name, p.Type)
		case other == ops.Value && p.Type == "number":
			ap.read, field = readNumber, ops.Value
		case other == ops.Value && (p.Type == "string" || p.Type == "any") && a.sent.root != "":
			ap.read, field = readAny, ops.Value
			if p.Type == "string" {
				ap.read = readString
			}
		default:
			return nil, fmt.Errorf("%s: parameter %s (%s) fills no argument of %s", fname, p.Name, p.Type, op)
		}
		if field != 0 && filled.Has(field) {
			return nil, fmt.Errorf("%s: parameter %s fills an argument of %s that another fills", fname, p.Name, op)
		}
		filled |= field
		a.params = append(a.params, ap)
	}
	if filled != other {
		return nil, fmt.Errorf("%s: no parameter gives an argument of %s", fname, op)
	}
	return a, nil
}
