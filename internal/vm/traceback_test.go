package vm

import (
	"io"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestTracebackAsGopherLua checks mphost's debug.traceback against
// gopher-lua's own where no pcall splits the stack: tail calls, Go frames,
// coroutines, levels and a stack deep enough to be cut must print the same.
// It pins what traceback.go reads of gopher-lua's unexported frames.
func TestTracebackAsGopherLua(t *testing.T) {
	vm := New(Options{Stdout: io.Discard})
	defer vm.Close()
	vm.L.SetGlobal("gltraceback", lua.NewState().GetField(lua.NewState().GetGlobal("debug"), "traceback"))
	got := run(t, vm, `local pairs = {}
		local function both(...)
			pairs[#pairs + 1] = {gltraceback(...), debug.traceback(...)}
		end
		local function levels() for level = 1, 4 do both("level " .. level, level) end both("far", 100) end
		local function t3() levels() end
		local function t2() return t3() end
		local function t1() return t2() end
		t1()
		string.gsub("a", "a", function() levels() end)
		local function rec(n) if n == 0 then levels() return end rec(n - 1) end
		rec(30)
		local co = coroutine.create(function() local function tail() return levels() end tail() coroutine.yield() end)
		coroutine.resume(co)
		coroutine.resume(coroutine.create(function() return levels() end))
		both(co)
		both(co, 2)
		return pairs`)
	cases := got.(*lua.LTable)
	if cases.Len() != 5*5+2 {
		t.Fatalf("%d cases, want 27", cases.Len())
	}
	for i := 1; i <= cases.Len(); i++ {
		c := cases.RawGetInt(i).(*lua.LTable)
		want, got := lua.LVAsString(c.RawGetInt(1)), lua.LVAsString(c.RawGetInt(2))
		if got != want {
			t.Errorf("case %d: got\n%s\nwant (gopher-lua)\n%s", i, got, want)
		}
		if i == 1 && !strings.Contains(got, "(tailcall): ?") {
			t.Errorf("case 1 shows no tail call:\n%s", got)
		}
	}
}
