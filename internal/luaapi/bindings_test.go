package luaapi_test

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/luaapi"
	"github.com/mphost/mphost/internal/vm"
)

// The tests in this file hold luaapi.MP against the bindings of a lone VM (one
// without a host): the mp table's members, each class's methods and
// fields, which parameters are required, and the options tables'
// fields must be the same on both sides.

// noHost is what a lone VM's runtime says when a call reaches it.
const noHost = "without a host"

// loneMP builds a lone VM and returns it with its mp table.
func loneMP(t *testing.T) (*vm.VM, *lua.LTable) {
	t.Helper()
	v := vm.New(vm.Options{Stdout: io.Discard, Stderr: io.Discard})
	t.Cleanup(v.Close)
	mp, ok := luaValue(t, v.L, `return require("mp")`).(*lua.LTable)
	if !ok {
		t.Fatal(`require("mp") did not return a table`)
	}
	return v, mp
}

// luaValue runs code and returns its one result.
func luaValue(t *testing.T, L *lua.LState, code string) lua.LValue {
	t.Helper()
	if err := L.DoString(code); err != nil {
		t.Fatal(err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// call calls fn with args in protected mode and returns its result, or
// the error's message (without its traceback) when it raises.
func call(t *testing.T, L *lua.LState, fn lua.LValue, args ...lua.LValue) (lua.LValue, string) {
	t.Helper()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, args...); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			return lua.LNil, lua.LVAsString(apiErr.Object)
		}
		return lua.LNil, err.Error()
	}
	v := L.Get(-1)
	L.Pop(1)
	return v, ""
}

// keys are the string keys of t that do not start with "_": metamethods
// and hidden members are not the script's surface.
func keys(t *lua.LTable) []string {
	var names []string
	t.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); ok && !strings.HasPrefix(string(s), "_") {
			names = append(names, string(s))
		}
	})
	sort.Strings(names)
	return names
}

func sorted(names []string) []string {
	names = slices.Clone(names)
	sort.Strings(names)
	return names
}

func funcNames(fs []luaapi.Func) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return sorted(names)
}

func fieldNames(fs []luaapi.Field) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return sorted(names)
}

func TestMembersMatchBindings(t *testing.T) {
	_, mp := loneMP(t)
	if got, want := keys(mp), sorted(luaapi.MP.Members()); !slices.Equal(got, want) {
		t.Errorf("mp's members:\n bound    %v\n declared %v", got, want)
	}
	for _, f := range luaapi.MP.Funcs {
		if _, ok := mp.RawGetString(f.Name).(*lua.LFunction); !ok {
			t.Errorf("mp.%s is bound as a %s, declared as a function", f.Name, mp.RawGetString(f.Name).Type())
		}
	}
	for _, c := range luaapi.MP.Classes {
		if _, ok := mp.RawGetString(c.Name).(*lua.LTable); c.Constructor != nil && !ok {
			t.Errorf("mp.%s is bound as a %s, declared as a class table", c.Name, mp.RawGetString(c.Name).Type())
		}
	}
}

// handle is a host object's handle, for the VM to rebuild as the object.
type handle struct {
	kind string
	id   uint64
}

func (h handle) Handle() (string, uint64) { return h.kind, h.id }

// instance returns an object of class c as the bindings make it: a Process
// object (closed, so that all its fields answer), or a host object rebuilt
// from its handle, as a process receiving one does.
func instance(t *testing.T, v *vm.VM, mp *lua.LTable, c *luaapi.Class) lua.LValue {
	t.Helper()
	if c.Name == "Process" {
		p, errText := call(t, v.L, mp.RawGetString("Process"))
		if errText != "" {
			t.Fatal(errText)
		}
		if _, errText := call(t, v.L, v.L.GetField(p, "close"), p); errText != "" {
			t.Fatal(errText)
		}
		return p
	}
	ud := v.L.NewUserData()
	ud.Value = handle{c.Name, 1}
	data, err := v.Encode("object", ud)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := v.Decode(data)
	if err != nil {
		t.Fatalf("class %s: %v", c.Name, err)
	}
	return obj
}

// candidateNames are the names an object's key could have: every name MP
// declares, and every string literal of the bindings' source that could be
// a Lua name. A key that none of them spells cannot be bound.
func candidateNames(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range luaapi.MP.Classes {
		for _, f := range c.Methods {
			seen[f.Name] = true
		}
		for _, f := range c.Fields {
			seen[f.Name] = true
		}
	}
	files, err := filepath.Glob("../vm/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the bindings' source: %v (%d files)", err, len(files))
	}
	literal := regexp.MustCompile(`"([A-Za-z][A-Za-z0-9_]*)"`)
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllSubmatch(src, -1) {
			seen[string(m[1])] = true
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for name := range seen {
			if !yield(name) {
				return
			}
		}
	})
}

// probeCode tells what obj[name] is: "function", "absent" (nil), or
// "field" (any other value, or an error: a live field asks the host).
const probeCode = `return function(obj, name)
	local ok, v = pcall(function() return obj[name] end)
	if not ok then return "field" end
	if v == nil then return "absent" end
	if type(v) == "function" then return "function" end
	return "field"
end`

func TestClassesMatchBindings(t *testing.T) {
	v, mp := loneMP(t)
	probe := luaValue(t, v.L, probeCode)
	names := candidateNames(t)
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		methods, fields := funcNames(luaapi.MP.AllMethods(c)), fieldNames(luaapi.MP.AllFields(c))
		if c.Name == "AsyncResult" {
			// Its methods are a table: compare them whole.
			index := v.L.GetField(v.L.GetTypeMetatable("mp.AsyncResult"), "__index")
			tbl, ok := index.(*lua.LTable)
			if !ok {
				t.Fatalf("mp.AsyncResult's __index is a %s", index.Type())
			}
			if got := keys(tbl); !slices.Equal(got, methods) {
				t.Errorf("AsyncResult's methods:\n bound    %v\n declared %v", got, methods)
			}
			continue
		}
		if c.Constructor != nil {
			cls := mp.RawGetString(c.Name).(*lua.LTable)
			if got := keys(cls); !slices.Equal(got, methods) {
				t.Errorf("%s's methods:\n bound    %v\n declared %v", c.Name, got, methods)
			}
		}
		obj := instance(t, v, mp, c)
		var gotMethods, gotFields []string
		for _, name := range names {
			kind, errText := call(t, v.L, probe, obj, lua.LString(name))
			if errText != "" {
				t.Fatal(errText)
			}
			switch kind.String() {
			case "function":
				gotMethods = append(gotMethods, name)
			case "field":
				gotFields = append(gotFields, name)
			}
		}
		if !slices.Equal(gotMethods, methods) {
			t.Errorf("%s's methods:\n bound    %v\n declared %v", c.Name, gotMethods, methods)
		}
		if !slices.Equal(gotFields, fields) {
			t.Errorf("%s's fields:\n bound    %v\n declared %v", c.Name, gotFields, fields)
		}
	}
}

// requiresFirst reports whether f's first parameter is required and of a
// type that nil is not: the bindings must refuse a call without it.
func requiresFirst(f luaapi.Func) bool {
	return len(f.Params) > 0 && !f.Params[0].Optional && f.Params[0].Type != "any"
}

// TestRequiredParamsMatchBindings calls each constructor and each method
// of the host's objects with no arguments: one whose first parameter is
// declared required must raise before it reaches the runtime, and one
// whose parameters are all optional must get there (or succeed).
func TestRequiredParamsMatchBindings(t *testing.T) {
	v, mp := loneMP(t)
	check := func(name string, f luaapi.Func, fn lua.LValue, args ...lua.LValue) {
		_, errText := call(t, v.L, fn, args...)
		reached := errText == "" || strings.Contains(errText, noHost)
		switch {
		case requiresFirst(f) && reached:
			t.Errorf("%s declares %s required, but a call without it reached the runtime (%q)", name, f.Params[0].Name, errText)
		case !requiresFirst(f) && len(f.Params) > 0 && f.Params[0].Type != "any" && !reached:
			t.Errorf("%s declares its parameters optional, but a call without them raised %q", name, errText)
		}
	}
	for _, f := range luaapi.MP.Funcs {
		if len(f.Returns) == 0 {
			continue
		}
		if _, constructs := luaapi.MP.Class(strings.TrimPrefix(f.Returns[0].Type, "mp.")); constructs {
			check("mp."+f.Name, f, mp.RawGetString(f.Name))
		}
	}
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		if c.Name == "Process" || c.Name == "AsyncResult" {
			continue // neither reaches the host for its methods' arguments
		}
		obj := instance(t, v, mp, c)
		for _, f := range luaapi.MP.AllMethods(c) {
			check(c.Name+"."+f.Name, f, v.L.GetField(obj, f.Name), obj)
		}
	}
}

// optionNames are the option names an error about an unknown option lists:
// `... (options: a, b, c)` or `... (it takes a and b)`.
func optionNames(errText string) []string {
	i := strings.LastIndex(errText, "(")
	if i < 0 {
		return nil
	}
	list := strings.TrimSuffix(strings.TrimSpace(errText[i+1:]), ")")
	list = strings.TrimPrefix(strings.TrimPrefix(list, "options: "), "it takes ")
	return sorted(strings.FieldsFunc(strings.ReplaceAll(list, " and ", ","), func(r rune) bool { return r == ',' || r == ' ' }))
}

// TestOptionsMatchBindings gives each function that takes an options table
// an unknown option: the options its error lists are the record's fields.
func TestOptionsMatchBindings(t *testing.T) {
	v, mp := loneMP(t)
	funcs := slices.Clone(luaapi.MP.Funcs)
	for _, c := range luaapi.MP.Classes {
		if c.Constructor != nil {
			funcs = append(funcs, *c.Constructor)
		}
	}
	tested := 0
	for _, f := range funcs {
		for _, p := range f.Params {
			for _, typ := range strings.Split(p.Type, "|") {
				r, ok := luaapi.MP.Record(strings.TrimPrefix(typ, "mp."))
				if !ok {
					continue
				}
				tested++
				opts := v.L.NewTable()
				opts.RawSetString("bogus", lua.LTrue)
				_, errText := call(t, v.L, mp.RawGetString(f.Name), opts)
				if got, want := optionNames(errText), fieldNames(r.Fields); !slices.Equal(got, want) {
					t.Errorf("mp.%s{bogus = true} raised %q: options\n bound    %v\n declared %v", f.Name, errText, got, want)
				}
			}
		}
	}
	if tested != len(luaapi.MP.Records) {
		t.Errorf("%d options tables checked, %d declared", tested, len(luaapi.MP.Records))
	}
}
