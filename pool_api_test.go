package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The tests of the pool_*_test.go files run Pools through the built binary.
// None sleeps to wait for another process: they wait for a line on stdout,
// an Event or a Barrier, each with a bound.
//
// The tests of this file call every method from the main script and from a
// child, map 100 000 items, hand a pool functions and items that cannot be
// sent, and check that callbacks run without a get. Those of
// pool_workers_test.go watch the workers.

// poolSuiteScript runs the same suite of Pool checks in the main script and
// in a child, whose pool workers are then grandchildren of the host. The
// child's lines come after the main script's, tagged "child".
const poolSuiteScript = `local mp = require("mp")

-- suite calls every Pool method from the process it runs in; where tags its
-- lines.
local function suite(where)
  local function say(...) print(where, ...) end
  -- raises_at reports how a pcall ended: "raises" when the error starts with
  -- this file's name and line and contains each of texts.
  local function raises_at(line, texts, ok, err)
    local prefix = "pool.lua:" .. line .. ": "
    if ok then return "did not raise" end
    if type(err) ~= "string" or err:sub(1, #prefix) ~= prefix then
      return "raised without " .. prefix .. ": " .. tostring(err)
    end
    for _, text in ipairs(texts) do
      if not err:find(text, 1, true) then return "raised without " .. text .. ": " .. err end
    end
    return "raises"
  end
  -- raises is raises_at for a pcall made on the caller's line.
  local function raises(texts, ok, err)
    return raises_at(debug.getinfo(2, "l").currentline, texts, ok, err)
  end
  -- list renders t[1] .. t[n], nils included.
  local function list(t, n)
    local parts = {}
    for i = 1, n do parts[i] = tostring(t[i]) end
    return table.concat(parts, " ")
  end
  local function range(n)
    local t = {}
    for i = 1, n do t[i] = i end
    return t
  end
  local function square(x) return x * x end
  local function odd_or_nil(x) if x % 2 == 1 then return x end end
  -- reverse sleeps longest on the first items, so they finish last.
  local function reverse(x) mp.sleep((6 - x) * 0.03) return x end
  local function fail_on_3(x)
    if x == 3 then error("three in " .. where) end
    return x
  end
  -- what a task's error must hold: the worker's file:line and its traceback
  local fail_line = "pool.lua:" .. (debug.getinfo(fail_on_3, "S").linedefined + 1)
  local task_error = {fail_line .. ": three in " .. where .. "\nstack traceback:\n\t", "\n\t" .. fail_line .. ":"}
  local me = mp.current_process()

  -- the initializer runs in each worker with its initargs; the global it
  -- sets is nil here, so the mapped function does not overwrite it
  local pool = mp.Pool{processes = 3, initializer = function(tag, n) INIT_TAG = tag .. n end, initargs = {where, 3}}
  say("initializer", list(pool:map(function() return INIT_TAG end, range(4)), 4))

  -- three workers at once: three tasks meet at a barrier
  local barrier = mp.Barrier(3)
  local pids = pool:map(function(b) b:wait(20) return mp.current_process().pid end, {barrier, barrier, barrier}, 1)
  local distinct, n = {}, 0
  for _, pid in ipairs(pids) do
    if not distinct[pid] then n = n + 1 end
    distinct[pid] = true
  end
  say("workers", n, distinct[me.pid] == nil)
  local name, parent = pool:apply(function() return mp.current_process().name .. " " .. mp.parent_process().pid end):match("^(.*) (%d+)$")
  say("worker identity", name:match("^PoolWorker%-%d+$") ~= nil, parent == tostring(me.pid))

  -- map: in order, nils kept in place, any chunksize
  say("map", list(pool:map(square, range(10)), 10))
  for _, size in ipairs({1, 3, 100}) do
    say("map chunksize " .. size, list(pool:map(square, range(10), size), 10))
  end
  local nils = pool:map(odd_or_nil, range(7), 2)
  say("map nils", list(nils, 7), table.maxn(nils))
  say("map all nil", list(pool:map(function() end, range(3)), 3))
  say("map empty", #pool:map(square, {}))
  say("map slow first", list(pool:map(reverse, range(5), 1), 5))
  say("map tables", list(pool:map(function(t) return t.name:upper() end, {{name = "a"}, {name = "b"}}), 2))

  -- starmap
  say("starmap", list(pool:starmap(function(a, b, c) return a .. b .. tostring(c) end, {{"x", 1}, {"y", 2, true}}), 2))

  -- imap in order, imap_unordered as they finish
  local got = {}
  for v in pool:imap(reverse, range(5), 1) do got[#got + 1] = v end
  say("imap", list(got, #got))
  got = {}
  for v in pool:imap(square, range(7)) do got[#got + 1] = v end
  say("imap default chunksize", list(got, #got))
  got = {}
  for v in pool:imap_unordered(square, range(6), 2) do got[#got + 1] = v end
  table.sort(got)
  say("imap_unordered", list(got, #got))
  local count = 0
  for _ in pool:imap(square, {}) do count = count + 1 end
  for _ in pool:imap_unordered(square, {}) do count = count + 1 end
  say("imap empty", count)
  for v in pool:imap(square, range(100), 1) do if v == 4 then break end end
  say("map after a broken imap", list(pool:map(square, range(3)), 3))

  -- apply
  say("apply", pool:apply(function(a, b, c) return a + b + c end, {1, 2, 3}))
  say("apply no args", pool:apply(function(...) return select("#", ...) end))
  say("apply nil", pool:apply(function() return nil end))

  -- apply_async: get, wait, ready, successful; the callback runs here
  local seen
  local r = pool:apply_async(square, {12}, function(v) seen = {v, mp.current_process().pid == me.pid} end)
  say("apply_async wait", r:wait(20), seen and seen[1], seen and seen[2])
  say("apply_async", r:ready(), r:successful(), r:get(), r:get(0))

  -- a result not ready yet: its task waits for an event
  local ev = mp.Event()
  local slow = pool:apply_async(function(e) e:wait(20) return "late" end, {ev})
  say("not ready", slow:get(0.05))
  say("not ready", slow:wait(0.05), slow:ready())
  say("successful before ready", raises({"not ready"}, pcall(slow.successful, slow)))
  ev:set()
  say("ready", slow:get(20), slow:ready(), slow:successful())

  -- map_async: the list, nils kept in place; its callback gets the list
  local mapped
  local m = pool:map_async(odd_or_nil, range(4), 1, function(v) mapped = v end)
  say("map_async", list(m:get(20), 4), mapped ~= nil and list(mapped, 4))

  -- a task's error is raised in the caller with the worker's file:line and
  -- traceback; the async results hand it to the error_callback
  say("map error", raises({"Pool.map: ", unpack(task_error)}, pcall(pool.map, pool, fail_on_3, range(5))))
  say("apply error", raises({"Pool.apply: ", unpack(task_error)}, pcall(pool.apply, pool, fail_on_3, {3})))
  say("starmap error", raises({"Pool.starmap: ", unpack(task_error)}, pcall(pool.starmap, pool, fail_on_3, {{1}, {3}})))
  local drain_line = debug.getinfo(1, "l").currentline + 1
  local function drain(it) for _ in it do end end
  say("imap error", raises_at(drain_line, {"Pool.imap: ", unpack(task_error)}, pcall(drain, pool:imap(fail_on_3, range(5), 1))))
  say("imap_unordered error", raises_at(drain_line, {"Pool.imap_unordered: ", unpack(task_error)}, pcall(drain, pool:imap_unordered(fail_on_3, range(5)))))
  local failed
  local a = pool:apply_async(fail_on_3, {3}, nil, function(e) failed = e end)
  say("apply_async error", a:wait(20), a:ready(), a:successful(), type(failed) == "string" and failed:find(task_error[1], 1, true) ~= nil)
  say("apply_async get", raises({"Pool.apply_async: ", unpack(task_error)}, pcall(a.get, a)))
  failed = nil
  local ma = pool:map_async(fail_on_3, range(5), 1, function() failed = "callback" end, function(e) failed = e end)
  say("map_async error", ma:wait(20), ma:successful(), type(failed) == "string" and failed:find(task_error[1], 1, true) ~= nil)
  say("map_async get", raises({"Pool.map_async: ", unpack(task_error)}, pcall(ma.get, ma)))
  say("unsendable result", raises({"Pool.apply: ", "cannot send", "coroutine"}, pcall(pool.apply, pool, function() return coroutine.create(print) end)))
  say("map after errors", list(pool:map(square, range(4)), 4))

  -- mistakes
  say("chunksize 0", raises({"chunksize"}, pcall(pool.map, pool, square, range(3), 0)))
  say("items not a table", raises({"table"}, pcall(pool.map, pool, square, 5)))
  say("processes 0", raises({"processes"}, pcall(mp.Pool, 0)))
  say("join before close", raises({"Pool.join"}, pcall(pool.join, pool)))

  -- close, then join
  pool:close()
  say("map after close", raises({"closed"}, pcall(pool.map, pool, square, range(2))))
  say("apply_async after close", raises({"closed"}, pcall(pool.apply_async, pool, square, {2})))
  say("join", pcall(pool.join, pool))

  -- terminate: the running and the queued task fail, join returns
  local small = mp.Pool(1)
  local gate = mp.Event()
  local running = small:apply_async(function(e) e:wait(60) return "ran" end, {gate})
  local queued = small:apply_async(square, {3})
  small:terminate()
  say("terminated running", raises({"terminated"}, pcall(running.get, running, 20)))
  say("terminated queued", raises({"terminated"}, pcall(queued.get, queued, 20)))
  say("join after terminate", pcall(small.join, small))
  say("map after terminate", raises({"closed"}, pcall(small.map, small, square, range(2))))

  -- the default size is mp.cpu_count()
  local default = mp.Pool()
  say("default pool", list(default:map(square, range(3)), 3))
  default:close()
  default:join()
end

suite("main")
local child = mp.Process{target = suite, args = {"child"}}
child:start()
print("child", child:join(60), child.exitcode)
`

// poolSuiteWant is what suite prints in each process, after its tag.
const poolSuiteWant = `initializer	%[1]s3 %[1]s3 %[1]s3 %[1]s3
workers	3	true
worker identity	true	true
map	1 4 9 16 25 36 49 64 81 100
map chunksize 1	1 4 9 16 25 36 49 64 81 100
map chunksize 3	1 4 9 16 25 36 49 64 81 100
map chunksize 100	1 4 9 16 25 36 49 64 81 100
map nils	1 nil 3 nil 5 nil 7	7
map all nil	nil nil nil
map empty	0
map slow first	1 2 3 4 5
map tables	A B
starmap	x1nil y2true
imap	1 2 3 4 5
imap default chunksize	1 4 9 16 25 36 49
imap_unordered	1 4 9 16 25 36
imap empty	0
map after a broken imap	1 4 9
apply	6
apply no args	0
apply nil	nil
apply_async wait	true	144	true
apply_async	true	true	144	144
not ready	nil	timeout
not ready	false	false
successful before ready	raises
ready	late	true	true
map_async	1 nil 3 nil	1 nil 3 nil
map error	raises
apply error	raises
starmap error	raises
imap error	raises
imap_unordered error	raises
apply_async error	true	true	false	true
apply_async get	raises
map_async error	true	false	true
map_async get	raises
unsendable result	raises
map after errors	1 4 9 16
chunksize 0	raises
items not a table	raises
processes 0	raises
join before close	raises
map after close	raises
apply_async after close	raises
join	true
terminated running	raises
terminated queued	raises
join after terminate	true
map after terminate	raises
default pool	1 4 9
`

// poolKnownBugs are suite lines that a known product bug makes wrong: the
// test checks every other line, then skips naming the bug if one of these
// differs.
var poolKnownBugs = map[string]string{}

func TestPoolAPIFromMainAndChild(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"pool.lua": poolSuiteScript})
	r := invocation{args: []string{"run", "pool.lua"}, dir: dir, timeout: 60 * time.Second}.run(t)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	var want []string
	for _, where := range []string{"main", "child"} {
		for _, line := range strings.Split(strings.TrimSuffix(fmt.Sprintf(poolSuiteWant, where), "\n"), "\n") {
			want = append(want, where+"\t"+line)
		}
	}
	want = append(want, "child\ttrue\t0")
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	var diff strings.Builder
	bugs := map[string]bool{}
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w == g {
			continue
		}
		if f := strings.Split(w, "\t"); len(f) > 1 && poolKnownBugs[f[1]] != "" && strings.HasPrefix(g, f[0]+"\t"+f[1]+"\t") {
			t.Logf("line %d (known bug):\n-%q\n+%q", i+1, w, g)
			bugs[poolKnownBugs[f[1]]] = true
			continue
		}
		fmt.Fprintf(&diff, "line %d:\n-%q\n+%q\n", i+1, w, g)
	}
	if diff.Len() > 0 {
		t.Errorf("stdout differs (-want +got):\n%s", diff.String())
	}
	for bug := range bugs {
		t.Skip(bug)
	}
}

func TestPoolBigMap(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"big.lua": `local mp = require("mp")
local N = 100000
local pool = mp.Pool(4)
local items = {}
for i = 1, N do items[i] = i end
local squares = pool:map(function(x) return x * x end, items)
local sum, wrong = 0, 0
for i = 1, N do
  if squares[i] ~= i * i then wrong = wrong + 1 end
  sum = sum + (squares[i] or 0)
end
print("map", #squares, wrong, string.format("%.0f", sum))
local n, isum, iwrong = 0, 0, 0
for v in pool:imap(function(x) return x * x end, items, 1000) do
  n = n + 1
  if v ~= n * n then iwrong = iwrong + 1 end
  isum = isum + v
end
print("imap", n, iwrong, string.format("%.0f", isum))
pool:close()
pool:join()
`})
	began := time.Now()
	r := invocation{args: []string{"run", "big.lua"}, dir: dir, timeout: 120 * time.Second}.run(t)
	t.Logf("100 000 items mapped twice in %v", time.Since(began).Round(time.Millisecond))
	// The sum of i*i for i = 1..100 000 is N(N+1)(2N+1)/6.
	const sum = "333338333350000"
	r.expect(t, 0, "map\t100000\t0\t"+sum+"\nimap\t100000\t0\t"+sum+"\n", "")
}

// poolUnsendableScript hands each Pool method a function that closes over a
// coroutine, directly or through another function.
const poolUnsendableScript = `local mp = require("mp")
local pool = mp.Pool(2)
local co = coroutine.create(function() end)
local function uses_co(x) return coroutine.status(co), x end
print(pcall(pool.map, pool, uses_co, {1, 2}))
print(pcall(pool.starmap, pool, uses_co, {{1}}))
print(pcall(pool.imap, pool, uses_co, {1}))
print(pcall(pool.imap_unordered, pool, uses_co, {1}))
print(pcall(pool.apply, pool, uses_co, {1}))
print(pcall(pool.apply_async, pool, uses_co, {1}))
print(pcall(pool.map_async, pool, uses_co, {1}))
print(pcall(pool.map, pool, function(x) return uses_co(x) end, {1}))
print("after", table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}), " "))
pool:close()
pool:join()
`

func TestPoolUnsendableFunctionRefused(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"job.lua": poolUnsendableScript})
	r := mphost(t, dir, "run", "job.lua")
	co := "upvalue 'co' (job.lua:4): a coroutine cannot cross processes"
	var want strings.Builder
	for i, method := range []string{"map", "starmap", "imap", "imap_unordered", "apply", "apply_async", "map_async"} {
		fmt.Fprintf(&want, "false\tjob.lua:%d: Pool.%s: cannot send function %s\n", 5+i, method, co)
	}
	fmt.Fprintf(&want, "false\tjob.lua:12: Pool.map: cannot send function upvalue 'uses_co' (job.lua:12) %s\n", co)
	want.WriteString("after\t2 4 6\n")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	if diff := lineDiff(want.String(), r.stdout); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}

func TestPoolUnsendableItemRefused(t *testing.T) {
	t.Parallel()
	// The bad value is the 11th item, the 2nd argument list, the 2nd
	// argument: the path must say so, as Process.start's args[1].cb does.
	dir := writeFiles(t, map[string]string{"job.lua": `local mp = require("mp")
local pool = mp.Pool(2)
local co = coroutine.create(function() end)
local items = {}
for i = 1, 10 do items[i] = i end
items[11] = {cb = co}
print(pcall(pool.map, pool, tostring, items, 5))
print(pcall(pool.starmap, pool, tostring, {{1}, {2, co}}))
print(pcall(pool.apply, pool, tostring, {1, {x = co}}))
print("after", table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}), " "))
pool:close()
pool:join()
`})
	r := mphost(t, dir, "run", "job.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 || lines[3] != "after\t2 4 6" {
		t.Fatalf("stdout:\n%s\nwant 3 errors, then the map after them", r.stdout)
	}
	wrong := false
	for i, c := range []struct{ at, path string }{
		{"job.lua:7: Pool.map: ", "items[11].cb"},
		{"job.lua:8: Pool.starmap: ", "arglists[2][2]"},
		{"job.lua:9: Pool.apply: ", "args[2].x"},
	} {
		want := "false\t" + c.at + "cannot send " + c.path + ": a coroutine cannot cross processes"
		if lines[i] != want {
			t.Logf("%q\nwant %q", lines[i], want)
			wrong = true
		}
	}
	if wrong {
		t.Fatal(`an unsendable item or argument is named by the pool's internal task table, with its index in its chunk: ` +
			`"cannot send items.items[1].cb" for items[11].cb, "items.items[1][2]" for arglists[2][2], "items.items[1][2].x" for args[2].x ` +
			`(script/pool.go poolBatch.submit encodes {mode=, items=chunk} under the name "items")`)
	}
}

// poolCallbacksScript is Python's usual pattern: apply_async with a callback
// that collects, then close and join, and no get.
const poolCallbacksScript = `local mp = require("mp")
local pool = mp.Pool(2)
local results = {}
for i = 1, 5 do
  pool:apply_async(function(x) return x * x end, {i}, function(v) results[#results + 1] = v end)
end
pool:close()
pool:join()
table.sort(results)
print("after join", table.concat(results, " "))
`

func TestPoolCallbacksRunWithoutGet(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"cb.lua": poolCallbacksScript})
	r := mphost(t, dir, "run", "cb.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	if want := "after join\t1 4 9 16 25\n"; r.stdout != want {
		if r.stdout == "after join\t\n" {
			t.Fatalf("callbacks run only inside get/wait/ready/successful of their own AsyncResult, "+
				"not \"inside the caller's next mp call\" (API.md): after close and join none of 5 callbacks ran (stdout %q)", r.stdout)
		}
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
}
