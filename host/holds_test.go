package host

import (
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// heldScript runs src in a new host whose scripts see held(), the number
// of objects the host's registry holds, and settle(), which collects the
// script's garbage until held() is back at most at the count its first
// call saw (for 20 s at most: the collections report what they free at
// the script's next call to an object) and returns how many more the host
// holds. It returns what the script printed.
func heldScript(t *testing.T, src string) string {
	t.Helper()
	globals := map[string]any{}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	h := New(Options{Stdout: out, Stderr: errOut, Globals: globals})
	t.Cleanup(func() { h.Close() })
	L := lua.NewState()
	defer L.Close()
	globals["held"] = L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(h.objects.Len()))
		return 1
	})
	const prelude = `local mp = require("mp")
		local tick = mp.Event()
		local base = held()
		local function settle()
			local deadline = os.time() + 20
			repeat
				collectgarbage() ; tick:set()
				if held() <= base then break end
				mp.sleep(0.01)
			until os.time() > deadline
			return held() - base
		end
		`
	if err := runScript(t, h, prelude+src); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut.String())
	}
	return out.String()
}

// leftOver runs src (see heldScript), which prints settle(), and fails
// the test when the host holds more objects after it than before.
func leftOver(t *testing.T, what, src string) {
	t.Helper()
	got := strings.TrimSpace(heldScript(t, src+"\nprint(settle())"))
	if n, err := strconv.Atoi(got); err != nil || n > 0 {
		t.Errorf("the host holds %s more objects after %s, want none", got, what)
	}
}

// TestDroppedPoolTasksFreeTheirArguments: the arguments of pool tasks that
// never ran (the pool was terminated while they waited) let go of what
// they carry: 20 queues, each sent only in one task's arguments.
func TestDroppedPoolTasksFreeTheirArguments(t *testing.T) {
	leftOver(t, "20 queues sent in tasks a terminate dropped", `
		local pool = mp.Pool(1)
		local busy, started = mp.Event(), mp.Event()
		local first = pool:apply_async(function(busy, started) started:set() busy:wait() end, {busy, started})
		started:wait()
		local pending = {}
		for i = 1, 20 do pending[i] = pool:apply_async(function(q) end, {mp.Queue()}) end
		pool:terminate() ; pool:join()
		for i = 1, 20 do assert(not pcall(pending[i].get, pending[i])) end
		pool, busy, started, first, pending = nil`)
}

// TestDroppedPoolsAreFreed: a pool closed or terminated, joined and dropped
// is freed, with what its initializer and initargs carry (here a queue in
// each pool's initargs and one in its initializer's upvalues).
func TestDroppedPoolsAreFreed(t *testing.T) {
	leftOver(t, "20 pools dropped", `
		for i = 1, 20 do
			local q, r = mp.Queue(), mp.Queue()
			local pool = mp.Pool{processes = 1, initializer = function(q) r:put(q) end, initargs = {q}}
			assert(pool:apply(function(x) return x end, {i}) == i)
			if i % 2 == 0 then pool:close() else pool:terminate() end
			pool:join()
		end`)
}

// TestDroppedProcessesFreeTheirArguments: a Process object that has ended
// (joined, or closed after) and that the script dropped lets go of its
// arguments, here a queue sent only in each of 20 processes' args.
func TestDroppedProcessesFreeTheirArguments(t *testing.T) {
	leftOver(t, "20 processes joined and dropped", `
		for i = 1, 20 do
			local p = mp.Process{target = function(q) end, args = {mp.Queue()}}
			p:start() ; p:join()
			assert(p.exitcode == 0)
			if i % 2 == 0 then p:close() end
		end`)
}
