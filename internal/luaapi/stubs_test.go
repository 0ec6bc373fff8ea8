package luaapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/luaapi"
)

// loadStubs runs a definition file in a plain gopher-lua state and returns
// what it returns.
func loadStubs(t *testing.T, text string) lua.LValue {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	if err := L.DoString(text); err != nil {
		t.Fatalf("the definition file does not run as Lua: %v", err)
	}
	return L.Get(-1)
}

// TestStubsNameEveryBuiltin loads mp's definition file as Lua: it returns
// a table with every member the bindings' mp table has, and every class
// that it declares has every method the bindings have.
func TestStubsNameEveryBuiltin(t *testing.T) {
	text := luaapi.Stubs(&luaapi.MP)
	stub, ok := loadStubs(t, text).(*lua.LTable)
	if !ok {
		t.Fatal("the mp definition file does not return a table")
	}
	_, bound := loneMP(t)
	for _, name := range keys(bound) {
		if stub.RawGetString(name).Type() != bound.RawGetString(name).Type() {
			t.Errorf("mp.%s: a %s in the bindings, a %s in the stubs", name, bound.RawGetString(name).Type(), stub.RawGetString(name).Type())
		}
	}
	for _, c := range luaapi.MP.Classes {
		for _, f := range c.Methods {
			if !strings.Contains(text, "\nfunction "+c.Name+":"+f.Name+"(") {
				t.Errorf("no stub of %s:%s", c.Name, f.Name)
			}
		}
		if !strings.Contains(text, "\n---@class mp."+c.Name) {
			t.Errorf("no class mp.%s", c.Name)
		}
	}
	if !strings.HasPrefix(text, "---@meta\n") || !strings.HasSuffix(text, "\nreturn mp\n") {
		t.Errorf("the file must start with ---@meta and return mp:\n%s", text)
	}
}

// TestStubsEntries checks a few entries of the mp file as written.
func TestStubsEntries(t *testing.T) {
	text := luaapi.Stubs(&luaapi.MP)
	for _, want := range []string{
		`---Takes the next item; nil, "empty" on timeout, nil, "closed" once closed and drained.
---@param block? boolean false: do not wait (default true)
---@param timeout? number seconds; nil waits forever
---@return any value
---@return "empty"|"closed"|nil status
function Queue:get(block, timeout) end
`,
		`---Makes a pipe and returns its two ends; with duplex false, the first only receives, the second only sends.
---@param duplex? boolean|mp.PipeOptions two-way, or an options table (default true)
---@return mp.Connection a
---@return mp.Connection b
function mp.Pipe(duplex) end
`,
		`---@class mp.Process
---@field pid? integer the OS process id; nil before start (read-only)
---@field name string the process's name; Process-N by default
---@field daemon boolean whether the process ends with its parent; set it before start
---@field exitcode? integer nil while running; 0, 1 after an error, N after os.exit(N), -SIG after a signal (read-only)
---@overload fun(opts?: mp.ProcessOptions): mp.Process
local Process = {}
mp.Process = Process
`,
		"---@class mp.JoinableQueue: mp.Queue\nlocal JoinableQueue = {}\n",
		"---@field task_timeout? number seconds a task may run before its worker is killed and replaced and the task fails\n",
		"---@return mp.Process?\nfunction mp.parent_process() end\n",
		"---@param ... any\n---@return any ...\nfunction Value:with(f, ...) end\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the mp file lacks\n%s", want)
		}
	}
}

// TestEveryEntryHasOneLineOfDoc: each function, method, class, field and
// options table says what it is, in one line.
func TestEveryEntryHasOneLineOfDoc(t *testing.T) {
	check := func(what, doc string) {
		if strings.TrimSpace(doc) == "" || strings.Contains(doc, "\n") {
			t.Errorf("%s: doc %q is not one line", what, doc)
		}
	}
	checkFunc := func(prefix string, f luaapi.Func) {
		check(prefix+f.Name, f.Doc)
		for _, p := range f.Params {
			if strings.Contains(p.Doc, "\n") {
				t.Errorf("%s%s: parameter %s's doc is more than a line", prefix, f.Name, p.Name)
			}
		}
	}
	check("mp", luaapi.MP.Doc)
	for _, f := range luaapi.MP.Funcs {
		checkFunc("mp.", f)
	}
	for _, c := range luaapi.MP.Classes {
		check(c.Name, c.Doc)
		for _, f := range c.Methods {
			checkFunc(c.Name+":", f)
		}
		for _, f := range c.Fields {
			check(c.Name+"."+f.Name, f.Doc)
		}
	}
	for _, r := range luaapi.MP.Records {
		check(r.Name, r.Doc)
		for _, f := range r.Fields {
			check(r.Name+"."+f.Name, f.Doc)
		}
	}
}

const helloStubs = "---@meta\n\n---@class hello\nlocal hello = {}\n\n---Greets name.\n---@param name string\n---@return string\nfunction hello.greet(name) end\n\nreturn hello\n"

func TestWriteStubs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "stubs")
	err := luaapi.WriteStubs(dir, []luaapi.PluginStubs{
		{Name: "hello", Stubs: helloStubs},
		{Name: "net.http", Stubs: "---@meta\nreturn {}\n"},
		{Name: "quiet"}, // no Stubs: no file
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"mp.lua":       luaapi.Stubs(&luaapi.MP),
		"hello.lua":    helloStubs,
		"net/http.lua": "---@meta\nreturn {}\n",
	} {
		got, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Error(err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s:\n%s\nwant\n%s", path, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "quiet.lua")); !os.IsNotExist(err) {
		t.Errorf("a plugin without Stubs got a file: %v", err)
	}
	if _, ok := loadStubs(t, helloStubs).(*lua.LTable); !ok {
		t.Error("the hello stubs do not return a table")
	}

	for _, bad := range []luaapi.PluginStubs{
		{Name: "../escape", Stubs: "x"},
		{Name: "a/b", Stubs: "x"},
		{Name: "", Stubs: "x"},
		{Name: "mp", Stubs: "x"},
	} {
		if err := luaapi.WriteStubs(t.TempDir(), []luaapi.PluginStubs{bad}); err == nil {
			t.Errorf("plugin module %q: no error", bad.Name)
		}
	}
	if err := luaapi.WriteStubs(t.TempDir(), []luaapi.PluginStubs{{Name: "twice", Stubs: "x"}, {Name: "twice", Stubs: "y"}}); err == nil {
		t.Error("two plugins of one name: no error")
	}
}
