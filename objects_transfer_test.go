package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The tests of this file hand the shared objects and items from process to
// process: handles crossing processes every way they can, a backlog of 10 MB
// left by a child that has ended, items too big to send. See
// objects_api_test.go for what all the objects_*_test.go files share.

// crossScript hands every object to a child five ways (as Process args,
// inside a table, inside a queue item, inside a pipe message, as kwargs),
// and checks that the child's handles name the same objects and act on
// them. The main script does it, then a child does it with grandchildren.
const crossScript = `local mp = require("mp")

-- use works with the objects o from another process than the one that made
-- them: each step either changes what the maker sees or waits for the maker.
local function use(o, how)
  local function id(x) return tostring(x) end
  o.results:put({how = how, ids = {id(o.lock), id(o.rlock), id(o.sem), id(o.bsem), id(o.event), id(o.cond),
    id(o.barrier), id(o.queue), id(o.jqueue), id(o.conn), id(o.value)}})
  o.lock:acquire() o.rlock:acquire() o.rlock:acquire() o.sem:acquire() o.bsem:acquire()
  o.results:put("held")
  if not o.event:wait(10) then error("event not set") end
  o.lock:release() o.rlock:release() o.rlock:release() o.sem:release() o.bsem:release()
  o.value:add(1)
  o.queue:put({from = how, n = 1})
  local task = o.jqueue:get(true, 10)
  o.jqueue:task_done()
  o.conn:send("ping " .. tostring(task))
  local pong = o.conn:recv()
  local index = o.barrier:wait(10)
  o.cond:acquire()
  o.cond:notify()
  o.cond:release()
  o.results:put({"done", pong, index})
end

local function check(where, how, o, start)
  local function say(...) print(where, how, ...) end
  local function id(x) return tostring(x) end
  o.cond:acquire()
  local p = start()
  local first = o.results:get(true, 10)
  local want = {id(o.lock), id(o.rlock), id(o.sem), id(o.bsem), id(o.event), id(o.cond),
    id(o.barrier), id(o.queue), id(o.jqueue), id(o.conn), id(o.value)}
  local same = first.how == how and #first.ids == #want
  for i = 1, #want do same = same and first.ids[i] == want[i] end
  say("same handles", same)
  say("held", o.results:get(true, 10))
  say("seen held", o.lock:locked(), o.lock:acquire(false), o.rlock:locked(), o.rlock:acquire(false), o.sem:get_value(), o.bsem:get_value())
  o.event:set()
  o.jqueue:put("task")
  local item = o.queue:get(true, 10)
  say("queue item", item.from, item.n)
  say("pipe", o.conn_peer:recv())
  o.conn_peer:send("pong")
  o.jqueue:join()
  local index = o.barrier:wait(10)
  say("condition notified", o.cond:wait(10))
  o.cond:release()
  local done = o.results:get(true, 10)
  say("done", done[1], done[2], index + done[3])
  say("released", o.lock:acquire(false), o.rlock:acquire(false), o.sem:get_value(), o.bsem:get_value(), o.value:get())
  o.lock:release() o.rlock:release()
  say("joined", p:join(10), p.exitcode)
end

local function objects()
  local conn, peer = mp.Pipe()
  return {lock = mp.Lock(), rlock = mp.RLock(), sem = mp.Semaphore(1), bsem = mp.BoundedSemaphore(1),
    event = mp.Event(), cond = mp.Condition(), barrier = mp.Barrier(2), queue = mp.Queue(),
    jqueue = mp.JoinableQueue(), conn = conn, conn_peer = peer, value = mp.Value(0), results = mp.Queue()}
end

local function suite(where)
  local o = objects()
  check(where, "args", o, function()
    local p = mp.Process{target = function(lock, rlock, sem, bsem, event, cond, barrier, queue, jqueue, conn, value, results)
      use({lock = lock, rlock = rlock, sem = sem, bsem = bsem, event = event, cond = cond, barrier = barrier,
        queue = queue, jqueue = jqueue, conn = conn, value = value, results = results}, "args")
    end, args = {o.lock, o.rlock, o.sem, o.bsem, o.event, o.cond, o.barrier, o.queue, o.jqueue, o.conn, o.value, o.results}}
    p:start()
    return p
  end)
  o = objects()
  check(where, "table", o, function()
    local p = mp.Process{target = function(t) use(t.objects, "table") end, args = {{objects = o}}}
    p:start()
    return p
  end)
  o = objects()
  check(where, "queue item", o, function()
    local carrier = mp.Queue()
    local p = mp.Process{target = function(carrier) use(carrier:get(true, 10), "queue item") end, args = {carrier}}
    p:start()
    carrier:put(o)
    return p
  end)
  o = objects()
  check(where, "pipe message", o, function()
    local mine, theirs = mp.Pipe()
    local p = mp.Process{target = function(c) use(c:recv(), "pipe message") end, args = {theirs}}
    p:start()
    mine:send(o)
    return p
  end)
  o = objects()
  check(where, "kwargs", o, function()
    local p = mp.Process{target = function(kw) use(kw, "kwargs") end, kwargs = o}
    p:start()
    return p
  end)
end

suite("main")
local nested = mp.Process{target = suite, args = {"child"}}
nested:start()
print("child", nested:join(60), nested.exitcode)
`

func TestObjectsAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"cross.lua": crossScript})
	r := mphost(t, dir, "run", "cross.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	const perWay = `same handles	true
held	held
seen held	true	false	true	false	0	0
queue item	%[1]s	1
pipe	ping task
condition notified	true
done	done	pong	1
released	true	true	1	1	1
joined	true	0
`
	var want strings.Builder
	for _, where := range []string{"main", "child"} {
		for _, how := range []string{"args", "table", "queue item", "pipe message", "kwargs"} {
			for _, line := range strings.SplitAfter(fmt.Sprintf(perWay, how), "\n") {
				if line != "" {
					want.WriteString(where + "\t" + how + "\t" + line)
				}
			}
		}
	}
	want.WriteString("child\ttrue\t0\n")
	if diff := lineDiff(want.String(), r.stdout); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}

// backlogScript has a child put 10 MB (1000 strings of 10 KB) into a
// Queue, a JoinableQueue and a Pipe, joins it before taking anything, then
// takes it all.
const backlogScript = `local mp = require("mp")

-- A child sends 1000 strings of 10 KB (10 MB) and ends; the main script
-- joins it before taking anything, then takes them all.
local N, SIZE = 1000, 10 * 1024
local function item(i) return string.format("%04d", i) .. string.rep(string.char(65 + i % 26), SIZE - 4) end

local function drain(kind, next_item)
  local n, ok, bytes = 0, true, 0
  while true do
    local s = next_item()
    if s == nil then break end
    n = n + 1
    bytes = bytes + #s
    ok = ok and s == item(n)
  end
  print(kind, "drained", n, bytes, ok)
end

for _, kind in ipairs({"Queue", "JoinableQueue"}) do
  local q = mp[kind]()
  local p = mp.Process{target = function(q) for i = 1, N do q:put(item(i)) end end, args = {q}}
  p:start()
  print(kind, "joined before any get", p:join(30), p.exitcode, q:qsize())
  drain(kind, function() return q:get_nowait() end)
end

local a, b = mp.Pipe()
local p = mp.Process{target = function(b) for i = 1, N do b:send(item(i)) end b:close() end, args = {b}}
p:start(); b:close() -- the child holds its own
print("Pipe", "joined before any recv", p:join(30), p.exitcode)
drain("Pipe", function() return a:recv() end)
`

func TestObjectJoinProducerWithBacklog(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"backlog.lua": backlogScript})
	mphost(t, dir, "run", "backlog.lua").expect(t, 0, `Queue	joined before any get	true	0	1000
Queue	drained	1000	10240000	true
JoinableQueue	joined before any get	true	0	1000
JoinableQueue	drained	1000	10240000	true
Pipe	joined before any recv	true	0
Pipe	drained	1000	10240000	true
`, "")
}

// bigScript has a child send a 6 MB string every way there is (a queue
// item, inside a table, a pipe message, a Value, a grandchild's argument)
// while another child echoes small items.
const bigScript = `local mp = require("mp")

-- A child sends a 6 MB string every way there is while another child
-- echoes small items; then the echo goes on. Each big send either arrives
-- whole or raises in the child; the host serves the echo either way.
local BIG = 6 * 1024 * 1024
local function big() return string.rep("x", BIG - 2) .. "<>" end
local q, v, results = mp.Queue(), mp.Value(0), mp.Queue()
local a, b = mp.Pipe()
local inq, outq = mp.Queue(), mp.Queue()

local echo = mp.Process{target = function(inq, outq)
  while true do
    local x = inq:get(true, 20)
    if x == nil or x == "stop" then return end
    outq:put(x)
  end
end, args = {inq, outq}}
echo:start()

local sender = mp.Process{target = function(q, b, v, results)
  local s = big()
  local function try(name, f, ...)
    local ok, err = pcall(f, ...)
    results:put(ok and (name .. " ok") or (name .. " error " .. tostring(err)))
  end
  try("Queue.put", q.put, q, s)
  try("Queue.put table", q.put, q, {s = s, n = 1})
  try("Connection.send", b.send, b, s)
  try("Value.set", v.set, v, s)
  try("Process.start", function()
    local p = mp.Process{target = function(s, q) q:put(#s) end, args = {s, q}}
    p:start()
    p:join()
  end)
  results:put("done")
end, args = {q, b, v, results}}
sender:start()

local function echoes(n)
  local ok = true
  for i = 1, n do
    inq:put({i = i})
    local r = outq:get(true, 20)
    ok = ok and r ~= nil and r.i == i
  end
  return ok
end
print("echo while sending", echoes(50))

local check = {
  ["Queue.put"] = function() local s = q:get(true, 10) return s == big() end,
  ["Queue.put table"] = function() local t = q:get(true, 10) return t ~= nil and t.s == big() and t.n == 1 end,
  ["Connection.send"] = function() return a:recv() == big() end,
  ["Value.set"] = function() return v:get() == big() end,
  ["Process.start"] = function() return q:get(true, 10) == BIG end,
}
while true do
  local r = results:get(true, 30)
  if r == nil or r == "done" then print("sender done", r) break end
  local name, outcome = r:match("^(.-) (ok)$")
  if name then
    print(name, "arrived whole", check[name]())
  else
    print(r)
  end
end
print("sender", sender:join(10), sender.exitcode)
print("echo after sending", echoes(50))
inq:put("stop")
print("echo", echo:join(10), echo.exitcode)
print("nothing left", q:qsize())
`

func TestObjectOversizedItemFromChild(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"big.lua": bigScript})
	r := mphost(t, dir, "run", "big.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{"echo while sending\ttrue"}
	// Each big send arrived whole, or raised in the child with the script's
	// file:line and the method's name; both are allowed.
	errorLine := regexp.MustCompile(`^big\.lua:\d+: `)
	sends := []struct{ name, method string }{
		{"Queue.put", "Queue.put"}, {"Queue.put table", "Queue.put"}, {"Connection.send", "Connection.send"},
		{"Value.set", "Value.set"}, {"Process.start", "Process.start"},
	}
	for i, s := range sends {
		got := ""
		if 1+i < len(lines) {
			got = lines[1+i]
		}
		if msg, ok := strings.CutPrefix(got, s.name+" error "); ok {
			t.Logf("%s of 6 MB from a child raised: %s", s.name, msg)
			if !errorLine.MatchString(msg) || !strings.Contains(msg, s.method) {
				t.Errorf("%s raised %q: want big.lua:LINE: and %s", s.name, msg, s.method)
			}
			want = append(want, got)
			continue
		}
		t.Logf("%s of 6 MB from a child arrived whole", s.name)
		want = append(want, s.name+"\tarrived whole\ttrue")
	}
	want = append(want, "sender done\tdone", "sender\ttrue\t0", "echo after sending\ttrue", "echo\ttrue\t0", "nothing left\t0")
	if diff := lineDiff(strings.Join(want, "\n"), strings.Join(lines, "\n")); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}
