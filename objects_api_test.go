package main

import (
	"strings"
	"testing"
)

// The tests of the objects_*_test.go files run the shared objects (Lock,
// RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier, Queue,
// JoinableQueue, Pipe, Value) through the built binary. Every wait is
// bounded inside the scripts (and each run by runTimeout), and none waits on
// a bare sleep for another process: they wait for an Event, a queue item,
// a pipe message, a barrier's n_waiting or a line on stdout.
//
// The tests of this file call every method from the main script and from a
// child, and check that a child's mistakes raise as the main script's do.
// The others: objects_transfer_test.go (handles and items crossing
// processes), objects_death_test.go (processes that die holding objects),
// objects_wire_test.go (broken input to the host's service).

// objectSuiteScript runs the same suite of checks on every object in the
// main script and in a child. The child's lines come after the main
// script's, tagged "child".
const objectSuiteScript = `local mp = require("mp")

-- suite calls every method of every object from the process it runs in,
-- including each way a wait can time out and each mistake that raises.
local function suite(where)
  local function say(...) print(where, ...) end
  -- raises reports how a pcall made on the caller's line ended: "raises"
  -- when the error starts with this file's name and that line and contains
  -- each of texts.
  local function raises(texts, ok, err)
    local prefix = "obj.lua:" .. debug.getinfo(2, "l").currentline .. ": "
    if ok then return "did not raise" end
    if type(err) ~= "string" or err:sub(1, #prefix) ~= prefix then
      return "raised without " .. prefix .. ": " .. tostring(err)
    end
    for _, text in ipairs(texts) do
      if not err:find(text, 1, true) then return "raised without " .. text .. ": " .. err end
    end
    return "raises"
  end
  local co = coroutine.create(function() end)

  -- Lock
  local l = mp.Lock()
  say("Lock", l:locked(), l:acquire(), l:locked())
  say("Lock held: timeout, no block", l:acquire(true, 0.05), l:acquire(false), l:acquire(false, 5))
  l:release()
  say("Lock released", l:locked(), l:acquire(false))
  l:release()
  say("Lock release unheld", raises({"Lock.release", "not hold"}, pcall(l.release, l)))
  say("Lock with", l:with(function(a, b) return l:locked(), a + b, "r" end, 1, 2))
  say("Lock with raising", raises({"inside"}, pcall(l.with, l, function() error("inside") end)), l:locked())
  say("Lock acquire bad block", raises({"block must be a boolean"}, pcall(l.acquire, l, "yes")))

  -- RLock: reentrant in its process
  local r = mp.RLock()
  say("RLock", r:acquire(), r:acquire(), r:acquire(false), r:acquire(true, 0.05), r:locked())
  r:release() r:release() r:release()
  say("RLock one level left", r:locked())
  r:release()
  say("RLock all released", r:locked())
  say("RLock release unheld", raises({"RLock.release", "not hold"}, pcall(r.release, r)))
  say("RLock nested with", r:with(function() return r:with(function() return r:locked(), "deep" end) end))
  say("RLock after with", r:locked())

  -- Semaphore: a counter; release may go above the start
  local s = mp.Semaphore(2)
  say("Semaphore", s:get_value(), s:acquire(), s:acquire(), s:get_value())
  say("Semaphore empty: timeout, no block", s:acquire(true, 0.05), s:acquire(false), s:get_value())
  s:release() s:release() s:release()
  say("Semaphore released above start", s:get_value())
  say("Semaphore with", s:with(function() return s:get_value() end), s:get_value())
  local zero = mp.Semaphore(0)
  say("Semaphore(0)", zero:get_value(), zero:acquire(false), zero:acquire(true, 0.05))
  say("Semaphore default", mp.Semaphore():get_value())
  say("Semaphore(-1)", raises({"value must be >= 0"}, pcall(mp.Semaphore, -1)))

  -- BoundedSemaphore: not above its start
  local bs = mp.BoundedSemaphore(2)
  say("BoundedSemaphore", bs:acquire(), bs:get_value(), bs:acquire(), bs:acquire(true, 0.05), bs:get_value())
  bs:release() bs:release()
  say("BoundedSemaphore over-release", raises({"BoundedSemaphore.release", "more times"}, pcall(bs.release, bs)), bs:get_value())
  say("BoundedSemaphore with", bs:with(function() return bs:get_value() end), bs:get_value())

  -- Event
  local e = mp.Event()
  say("Event clear", e:is_set(), e:wait(0.05), e:wait(0))
  e:set()
  say("Event set", e:is_set(), e:wait(), e:wait(0.05))
  e:set()
  e:clear()
  say("Event cleared", e:is_set(), e:wait(0.05))

  -- Condition over its own RLock, and over a given Lock
  local c = mp.Condition()
  say("Condition unheld", raises({"Condition.notify", "not held"}, pcall(c.notify, c)),
    raises({"Condition.notify_all", "not held"}, pcall(c.notify_all, c)),
    raises({"Condition.wait", "not held"}, pcall(c.wait, c, 0.05)))
  say("Condition acquire", c:acquire(), c:acquire(false))
  c:release()
  say("Condition wait timeout", c:wait(0.05))
  local calls = 0
  say("Condition wait_for false", c:wait_for(function() calls = calls + 1 return false end, 0.05), calls > 1)
  say("Condition wait_for true at once", c:wait_for(function() return 42 end, 0.05))
  calls = 0
  say("Condition wait_for true later", c:wait_for(function() calls = calls + 1 return calls >= 2 and "second" end, 0.05), calls)
  c:notify() c:notify(3) c:notify_all()
  say("Condition still held after wait", pcall(c.notify, c))
  c:release()
  say("Condition release unheld", raises({"Condition.release", "not hold"}, pcall(c.release, c)))
  say("Condition with", c:with(function(x) return x * 2, pcall(c.notify, c) end, 21))
  local cl = mp.Lock()
  local c2 = mp.Condition(cl)
  c2:acquire()
  say("Condition over a Lock", cl:locked(), cl:acquire(false), c2:wait(0.05), cl:locked())
  c2:release()
  say("Condition lock released", cl:locked())
  say("Condition(bad lock)", raises({"Lock or RLock expected"}, pcall(mp.Condition, mp.Queue())))

  -- Barrier
  local one = mp.Barrier(1)
  say("Barrier(1)", one:wait(), one:wait(0.05), one.parties, one.n_waiting, one.broken)
  local b = mp.Barrier(2)
  say("Barrier wait timeout", raises({"Barrier.wait", "broken"}, pcall(b.wait, b, 0.05)), b.broken, b.n_waiting)
  say("Barrier broken", raises({"Barrier.wait", "broken"}, pcall(b.wait, b, 5)))
  b:reset()
  say("Barrier reset", b.broken, b.parties)
  b:abort()
  say("Barrier abort", b.broken, raises({"Barrier.wait", "broken"}, pcall(b.wait, b)))
  b:reset()
  local bt = mp.Barrier(2, 0.05)
  say("Barrier default timeout", raises({"Barrier.wait", "broken"}, pcall(bt.wait, bt)), bt.broken)
  say("Barrier(0)", raises({"parties must be >= 1"}, pcall(mp.Barrier, 0)))

  -- Queue, unbounded
  local q = mp.Queue()
  say("Queue new", q:empty(), q:full(), q:qsize())
  say("Queue put", q:put(1), q:put("two", true, 0.05), q:put_nowait({3, t = {x = "y"}}), q:put(false), q:qsize(), q:empty(), q:full())
  local t3
  say("Queue get", q:get(), q:get(true, 0.05))
  t3 = q:get_nowait()
  say("Queue get table", t3[1], t3.t.x, q:get(false))
  say("Queue drained", q:get(true, 0.05))
  say("Queue get no block", q:get(false))
  say("Queue get_nowait", q:get_nowait())
  say("Queue put nil", raises({"Queue.put", "nil"}, pcall(q.put, q, nil)))
  say("Queue put coroutine", raises({"Queue.put", "item", "coroutine"}, pcall(q.put, q, co)))
  say("Queue put nested coroutine", raises({"Queue.put", "item.a[1]", "coroutine"}, pcall(q.put, q, {a = {co}})))
  say("Queue refused puts left nothing", q:qsize())

  -- Queue, bounded
  local bq = mp.Queue(2)
  say("Queue(2)", bq:put("a"), bq:put("b"), bq:full(), bq:qsize())
  say("Queue(2) full", bq:put("c", true, 0.05))
  say("Queue(2) no block", bq:put("c", false))
  say("Queue(2) put_nowait", bq:put_nowait("c"))
  say("Queue(2) room again", bq:get(), bq:put_nowait("c"), bq:get(), bq:get(), bq:empty())

  -- close: put raises, get drains then says closed (a bounded queue: for
  -- an unbounded one, whose puts a child batches, see
  -- TestObjectQueuePutAfterClose)
  local cq = mp.Queue(5)
  cq:put("left 1") cq:put("left 2")
  cq:close()
  cq:close()
  say("Queue put after close", raises({"Queue.put", "closed"}, pcall(cq.put, cq, "late")))
  say("Queue drains after close", cq:get(), cq:get_nowait())
  say("Queue closed and drained", cq:get())
  say("Queue closed: timeout, no block", cq:get(true, 0.05))
  say("Queue closed: get_nowait", cq:get_nowait())

  -- JoinableQueue
  local jq = mp.JoinableQueue()
  jq:join()
  say("JoinableQueue", jq:put("t1"), jq:put("t2"), jq:qsize())
  say("JoinableQueue get", jq:get(), jq:get_nowait(), jq:empty())
  jq:task_done()
  jq:task_done()
  jq:join()
  say("JoinableQueue joined")
  say("JoinableQueue task_done too many", raises({"JoinableQueue.task_done", "too many"}, pcall(jq.task_done, jq)))
  local bjq = mp.JoinableQueue(1)
  say("JoinableQueue(1)", bjq:put("x"), bjq:put_nowait("y"), bjq:put("y", true, 0.05), bjq:full())
  say("JoinableQueue(1) get", bjq:get(), bjq:get(true, 0.05))
  bjq:task_done()
  bjq:join()

  -- Pipe, duplex
  local a, z = mp.Pipe()
  say("Pipe poll nothing", a:poll(), a:poll(0.05), z:poll(0))
  z:send({x = 1, list = {"p", "q"}})
  z:send("second")
  say("Pipe poll message", a:poll(), a:poll(0.05))
  local m = a:recv()
  say("Pipe recv", m.x, m.list[2], a:recv(), a:poll(0.05))
  a:send("back")
  say("Pipe other way", z:recv())
  z:send_bytes("\0\1\255 bytes")
  local raw = a:recv_bytes()
  say("Pipe bytes", #raw, raw == "\0\1\255 bytes")
  say("Pipe send coroutine", raises({"Connection.send", "message[1]", "coroutine"}, pcall(a.send, a, {co})))
  z:send("last words")
  z:close()
  say("Pipe after peer close", a:poll(), a:recv())
  say("Pipe closed", a:poll(), a:poll(0.05), a:recv())
  say("Pipe recv closed again", a:recv_bytes())
  say("Pipe send on closed", raises({"Connection.send", "closed"}, pcall(z.send, z, 1)))
  say("Pipe send to closed", raises({"Connection.send", "closed"}, pcall(a.send, a, 1)))
  z:close()

  -- Pipe, one way: the first end receives, the second sends
  local rx, tx = mp.Pipe(false)
  tx:send("one way")
  say("Pipe(false)", rx:poll(0.05), rx:recv())
  say("Pipe(false) send on receiver", raises({"Connection.send", "only receives"}, pcall(rx.send, rx, 1)))
  say("Pipe(false) recv on sender", raises({"Connection.recv", "only sends"}, pcall(tx.recv, tx)))
  rx:close()
  say("Pipe(false) closed reader", raises({"Connection.send", "closed"}, pcall(tx.send, tx, 1)))

  -- Value
  local v = mp.Value(5)
  say("Value", v:get(), v:add(2), v:add(-0.5), v:get())
  v:set("text")
  say("Value set", v:get(), raises({"Value.add", "not a number"}, pcall(v.add, v, 1)))
  v:set({1, {2}})
  say("Value table", v:get()[2][1])
  v:set(10)
  say("Value with", v:with(function(k) v:set(v:get() * k) return v:get(), "done" end, 3), v:get())
  say("Value nested with", v:with(function() return v:with(function() return v:add(1) end) end))
  say("Value with raising", raises({"in value"}, pcall(v.with, v, function() error("in value") end)),
    v:with(function() return "lock free" end))
  say("Value set coroutine", raises({"Value.set", "coroutine"}, pcall(v.set, v, co)))
  say("Value nil", mp.Value():get(), mp.Value(nil):get())

  -- tostring
  say("tostring", tostring(l):match("^<Lock %d+>$") ~= nil, tostring(q):match("^<Queue %d+>$") ~= nil)
end

suite("main")
local p = mp.Process{target = suite, args = {"child"}}
p:start()
print("child", p:join(60), p.exitcode)
`

// objectSuiteWant is what the suite prints in one process, each line
// without its tag. A "raises" is a pcall that failed with an error starting
// with the file and line of the call and naming the method and the mistake.
const objectSuiteWant = `Lock	false	true	true
Lock held: timeout, no block	false	false	false
Lock released	false	true
Lock release unheld	raises
Lock with	true	3	r
Lock with raising	raises	false
Lock acquire bad block	raises
RLock	true	true	true	true	true
RLock one level left	true
RLock all released	false
RLock release unheld	raises
RLock nested with	true	deep
RLock after with	false
Semaphore	2	true	true	0
Semaphore empty: timeout, no block	false	false	0
Semaphore released above start	3
Semaphore with	2	3
Semaphore(0)	0	false	false
Semaphore default	1
Semaphore(-1)	raises
BoundedSemaphore	true	1	true	false	0
BoundedSemaphore over-release	raises	2
BoundedSemaphore with	1	2
Event clear	false	false	false
Event set	true	true	true
Event cleared	false	false
Condition unheld	raises	raises	raises
Condition acquire	true	true
Condition wait timeout	false
Condition wait_for false	false	true
Condition wait_for true at once	42
Condition wait_for true later	second	2
Condition still held after wait	true
Condition release unheld	raises
Condition with	42	true
Condition over a Lock	true	false	false	true
Condition lock released	false
Condition(bad lock)	raises
Barrier(1)	0	0	1	0	false
Barrier wait timeout	raises	true	0
Barrier broken	raises
Barrier reset	false	2
Barrier abort	true	raises
Barrier default timeout	raises	true
Barrier(0)	raises
Queue new	true	false	0
Queue put	true	true	true	true	4	false	false
Queue get	1	two
Queue get table	3	y	false
Queue drained	nil	empty
Queue get no block	nil	empty
Queue get_nowait	nil	empty
Queue put nil	raises
Queue put coroutine	raises
Queue put nested coroutine	raises
Queue refused puts left nothing	0
Queue(2)	true	true	true	2
Queue(2) full	false	full
Queue(2) no block	false	full
Queue(2) put_nowait	false	full
Queue(2) room again	a	true	b	c	true
Queue put after close	raises
Queue drains after close	left 1	left 2
Queue closed and drained	nil	closed
Queue closed: timeout, no block	nil	closed
Queue closed: get_nowait	nil	closed
JoinableQueue	true	true	2
JoinableQueue get	t1	t2	true
JoinableQueue joined
JoinableQueue task_done too many	raises
JoinableQueue(1)	true	false	false	true
JoinableQueue(1) get	x	nil	empty
Pipe poll nothing	false	false	false
Pipe poll message	true	true
Pipe recv	1	q	second	false
Pipe other way	back
Pipe bytes	9	true
Pipe send coroutine	raises
Pipe after peer close	true	last words
Pipe closed	true	true	nil	closed
Pipe recv closed again	nil	closed
Pipe send on closed	raises
Pipe send to closed	raises
Pipe(false)	true	one way
Pipe(false) send on receiver	raises
Pipe(false) recv on sender	raises
Pipe(false) closed reader	raises
Value	5	7	6.5	6.5
Value set	text	raises
Value table	2
Value with	30	30
Value nested with	31
Value with raising	raises	lock free
Value set coroutine	raises
Value nil	nil	nil
tostring	true	true
`

func TestObjectAPIFromMainAndChild(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"obj.lua": objectSuiteScript})
	r := mphost(t, dir, "run", "obj.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	var want strings.Builder
	for _, where := range []string{"main", "child"} {
		for _, line := range strings.SplitAfter(objectSuiteWant, "\n") {
			if line != "" {
				want.WriteString(where + "\t" + line)
			}
		}
	}
	want.WriteString("child\ttrue\t0\n")
	if diff := lineDiff(want.String(), r.stdout); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}

// childErrorsScript makes the same mistakes in the main script and in a
// child, and prints each error without its file:line.
const childErrorsScript = `local mp = require("mp")

-- mistakes makes each mistake once and returns the errors without their
-- file:line.
local function mistakes()
  local out = {}
  local function try(name, f, ...)
    local ok, err = pcall(f, ...)
    out[#out + 1] = name .. ": " .. (ok and "no error" or (tostring(err):gsub("^childerr%.lua:%d+: ", "")))
  end
  local l = mp.Lock()
  try("unheld lock", l.release, l)
  local bs = mp.BoundedSemaphore(1)
  try("over-release", bs.release, bs)
  local c = mp.Condition()
  try("notify unheld", c.notify, c)
  local b = mp.Barrier(2)
  try("barrier timeout", b.wait, b, 0.01)
  local jq = mp.JoinableQueue()
  try("task_done", jq.task_done, jq)
  local q = mp.Queue(1)
  q:close()
  try("put after close", q.put, q, 1)
  local _, z = mp.Pipe()
  z:close()
  try("send on closed", z.send, z, 1)
  local r = mp.Pipe(false)
  try("send on receiver", r.send, r, 1)
  local v = mp.Value("s")
  try("add to text", v.add, v, 1)
  return out
end

for _, line in ipairs(mistakes()) do print("main", line) end
local p = mp.Process{target = function()
  for _, line in ipairs(mistakes()) do print("child", line) end
end}
p:start()
print("child", p:join(20), p.exitcode)
`

func TestObjectErrorsInChildReadAsInMain(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"childerr.lua": childErrorsScript})
	r := mphost(t, dir, "run", "childerr.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", r.code, r.stderr)
	}
	var main, child []string
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "main\t"); ok {
			main = append(main, rest)
		} else if rest, ok := strings.CutPrefix(line, "child\t"); ok && !strings.HasPrefix(rest, "true\t") {
			child = append(child, rest)
		}
	}
	if len(main) != 9 {
		t.Fatalf("the main script made %d mistakes, want 9:\n%s", len(main), r.stdout)
	}
	if diff := lineDiff(strings.Join(main, "\n"), strings.Join(child, "\n")); diff != "" {
		t.Errorf("a child's errors differ from the main script's (-main +child):\n%s", diff)
	}
}

// closedQueueScript puts into a closed unbounded queue: in the process that
// closed it (arg "main": the main script; "child": a child), or in a child
// after the main script closed it ("other").
const closedQueueScript = `local mp = require("mp")

-- put after close raises, whoever closed the queue; get drains, then says
-- closed. arg[1] says where: "main" (the main script closes and puts),
-- "child" (a child does), "other" (a child puts after the main script
-- closed the queue).
local function suite(where)
  local q = mp.Queue()
  q:put("before") -- a child learns here that the queue is unbounded
  q:close()
  local ok, err = pcall(q.put, q, "after")
  print(where, "put after close", ok, ok or err:match("^closed%.lua:11: Queue%.put: ") ~= nil)
  print(where, "get", q:get(true, 1))
  print(where, "get", q:get(true, 1))
end

if arg[1] == "main" then
  suite("main")
elseif arg[1] == "child" then
  local p = mp.Process{target = suite, args = {"child"}}
  p:start()
  print("child", p:join(10), p.exitcode)
else
  local q, closed, report = mp.Queue(), mp.Event(), mp.Queue(1)
  local other = mp.Process{target = function(q, closed, report)
    q:put("first")
    if not closed:wait(10) then os.exit(2) end
    local ok, err = pcall(q.put, q, "late")
    report:put({ok = ok, at = not ok and err:match("^closed%.lua:28: Queue%.put: ") ~= nil})
  end, args = {q, closed, report}}
  other:start()
  print("other", q:get(true, 10))
  q:close()
  closed:set()
  local r = report:get(true, 10)
  print("other", "put after close", r and r.ok, r and r.at)
  print("other", other:join(10), other.exitcode)
  print("other", q:get(true, 1))
end
`

func TestObjectQueuePutAfterClose(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"closed.lua": closedQueueScript})
	tests := []struct {
		name, arg, want string
		stderr          string // what stderr must hold; empty: nothing
	}{
		{"main script", "main", "main\tput after close\tfalse\ttrue\nmain\tget\tbefore\nmain\tget\tnil\tclosed\n", ""},
		{"child", "child", "child\tput after close\tfalse\ttrue\nchild\tget\tbefore\nchild\tget\tnil\tclosed\nchild\ttrue\t0\n", ""},
		// A child's put into an unbounded queue does not wait for the host, so
		// a put after another process closed the queue returns true; the item
		// is dropped and the child reports the loss on stderr as it ends.
		{"closed by another process", "other", "other\tfirst\nother\tput after close\ttrue\tfalse\nother\ttrue\t1\nother\tnil\tclosed\n",
			"1 item(s) put into a queue were not delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mphost(t, dir, "run", "closed.lua", tt.arg)
			if r.code != 0 || (tt.stderr == "") != (r.stderr == "") || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and stderr holding %q", r.code, r.stderr, tt.stderr)
			}
			if diff := lineDiff(tt.want, r.stdout); diff != "" {
				t.Errorf("stdout differs (-want +got):\n%s", diff)
			}
		})
	}
}
