package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/mphost/mphost/plugins/proto"
)

// The tests of this file run the shared objects (Lock, RLock, Semaphore,
// BoundedSemaphore, Event, Condition, Barrier, Queue, JoinableQueue, Pipe,
// Value) through the built binary: every method from the main script and
// from a child, handles crossing processes every way they can, processes
// that die holding objects, big and broken input to the host. Every wait is
// bounded inside the scripts (and each run by runTimeout), and none waits on
// a bare sleep for another process: they wait for an Event, a queue item,
// a pipe message, a barrier's n_waiting or a line on stdout.

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

// deathScript has a child take a Lock, an RLock twice, both permits of a
// Semaphore(2), a BoundedSemaphore and a Value's lock, and die holding them:
// SIGKILL while another process waits for the lock, os.exit, an uncaught
// error. The first process to take each object afterwards gets
// true, "abandoned" (once per permit for the semaphore); everyone after
// gets plain true.
const deathScript = `local mp = require("mp")

-- hold takes the Lock, the RLock twice, both permits of the Semaphore, the
-- BoundedSemaphore's permit and the Value's lock, says so, then dies as
-- told while holding them all.
local function hold(o, how)
  o.lock:acquire() o.rlock:acquire() o.rlock:acquire() o.sem:acquire() o.sem:acquire() o.bsem:acquire()
  o.value:with(function()
    o.ready:set()
    if how == "exit" then os.exit(7) end
    if how == "error" then error("dying on purpose") end
    mp.sleep(60) -- until killed
  end)
end

-- peek tries each object without waiting: all are held.
local function peek(o)
  return table.concat({tostring(o.lock:acquire(false)), tostring(o.rlock:acquire(false)),
    tostring(o.sem:acquire(false)), tostring(o.bsem:acquire(false)), o.sem:get_value(), o.bsem:get_value()}, " ")
end

-- take acquires each object (the first acquire may wait for the holder to
-- die), releases it and acquires it again, and tells what each acquire
-- returned.
local function take(o)
  local function acq(x, timeout)
    local ok, status = x:acquire(true, timeout or 10)
    return tostring(ok) .. (status and " " .. status or "")
  end
  local r = {}
  r[#r + 1] = "lock " .. acq(o.lock)
  o.lock:release()
  r[#r + 1] = "lock " .. acq(o.lock)
  o.lock:release()
  r[#r + 1] = "rlock " .. acq(o.rlock)
  o.rlock:release()
  r[#r + 1] = "rlock locked " .. tostring(o.rlock:locked())
  r[#r + 1] = "rlock " .. acq(o.rlock)
  o.rlock:release()
  r[#r + 1] = "sem " .. acq(o.sem)
  r[#r + 1] = "sem " .. acq(o.sem)
  r[#r + 1] = "sem " .. acq(o.sem, 0.05)
  o.sem:release() o.sem:release()
  r[#r + 1] = "sem " .. acq(o.sem)
  o.sem:release()
  r[#r + 1] = "sem value " .. o.sem:get_value()
  r[#r + 1] = "bsem " .. acq(o.bsem)
  o.bsem:release()
  r[#r + 1] = "bsem " .. acq(o.bsem)
  o.bsem:release()
  r[#r + 1] = "bsem over-release " .. tostring(pcall(o.bsem.release, o.bsem))
  r[#r + 1] = "value " .. o.value:with(function() return "free" end)
  return table.concat(r, ", ")
end

local function objects()
  return {lock = mp.Lock(), rlock = mp.RLock(), sem = mp.Semaphore(2), bsem = mp.BoundedSemaphore(1),
    value = mp.Value(0), ready = mp.Event()}
end

local function start(f, ...)
  local p = mp.Process{target = f, args = {...}}
  p:start()
  return p
end

-- killed while another process waits for the lock: that process gets the
-- abandoned objects, the main script then gets them plainly
for _, how in ipairs({"kill", "exit", "error"}) do
  local o = objects()
  local holder = start(hold, o, how)
  print(how, "ready", o.ready:wait(10))
  if how == "kill" then
    local report = mp.Queue()
    local taker = start(function(o, report)
      report:put(peek(o))
      report:put(take(o))
    end, o, report)
    print(how, "other process peeks", report:get(true, 10))
    holder:kill()
    print(how, "holder", holder:join(10), holder.exitcode)
    print(how, "other process takes", report:get(true, 20))
    print(how, "other process", taker:join(10), taker.exitcode)
    print(how, "main takes", take(o))
  else
    print(how, "main peeks", peek(o))
    print(how, "holder", holder:join(10), holder.exitcode)
    print(how, "main takes", take(o))
    local report = mp.Queue()
    local taker = start(function(o, report) report:put(take(o)) end, o, report)
    print(how, "other process takes", report:get(true, 20))
    print(how, "other process", taker:join(10), taker.exitcode)
  end
end
`

func TestObjectsReleasedWhenHolderDies(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"death.lua": deathScript})
	r := mphost(t, dir, "run", "death.lua")
	const abandoned = "lock true abandoned, lock true, rlock true abandoned, rlock locked false, rlock true, " +
		"sem true abandoned, sem true abandoned, sem false, sem true, sem value 2, " +
		"bsem true abandoned, bsem true, bsem over-release false, value free"
	const plain = "lock true, lock true, rlock true, rlock locked false, rlock true, " +
		"sem true, sem true, sem false, sem true, sem value 2, " +
		"bsem true, bsem true, bsem over-release false, value free"
	want := "kill\tready\ttrue\n" +
		"kill\tother process peeks\tfalse false false false 0 0\n" +
		"kill\tholder\ttrue\t-9\n" +
		"kill\tother process takes\t" + abandoned + "\n" +
		"kill\tother process\ttrue\t0\n" +
		"kill\tmain takes\t" + plain + "\n"
	for _, c := range []struct{ how, code string }{{"exit", "7"}, {"error", "1"}} {
		want += c.how + "\tready\ttrue\n" +
			c.how + "\tmain peeks\tfalse false false false 0 0\n" +
			c.how + "\tholder\ttrue\t" + c.code + "\n" +
			c.how + "\tmain takes\t" + abandoned + "\n" +
			c.how + "\tother process takes\t" + plain + "\n" +
			c.how + "\tother process\ttrue\t0\n"
	}
	if r.code != 0 {
		t.Errorf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if diff := lineDiff(want, r.stdout); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
	// Only the holder that raised wrote to stderr.
	if blocks := splitBlocks(r.stderr, "Process "); len(blocks) != 1 || !strings.Contains(blocks[0], "death.lua:11: dying on purpose\n") {
		t.Errorf("stderr should hold one report, of the holder's uncaught error at death.lua:11:\n%s", r.stderr)
	}
}

// barrierDeathScript kills a party waiting at a barrier, first with another
// child waiting beside it, then with the main script waiting beside it.
const barrierDeathScript = `local mp = require("mp")

-- raises tells whether a pcall failed with an error that starts with
-- barrier.lua:LINE: Barrier.wait: and names the broken barrier.
local function raises(line, ok, err)
  if ok then return "did not raise" end
  if type(err) == "string" and err:find("^barrier%.lua:" .. line .. ": Barrier%.wait: ") and err:find("barrier is broken", 1, true) then
    return "raises"
  end
  return "raised " .. tostring(err)
end

-- wait_until polls a cheap state of the host, for at most 10 s.
local function wait_until(f)
  for _ = 1, 1000 do
    if f() then return true end
    mp.sleep(0.01)
  end
  return false
end

-- A party killed while it waits at a barrier breaks it: the other waiter
-- gets an error, then every later wait until reset.
local b = mp.Barrier(3)
local report = mp.Queue()
local doomed = mp.Process{target = function(b) b:wait() end, args = {b}}
doomed:start()
print("first party waits", wait_until(function() return b.n_waiting == 1 end))
local other = mp.Process{target = function(b, report)
  report:put(raises(debug.getinfo(1, "l").currentline, pcall(b.wait, b)))
end, args = {b, report}}
other:start()
print("second party waits", wait_until(function() return b.n_waiting == 2 end))
doomed:kill()
print("other waiter", report:get(true, 10))
print("joined", doomed:join(10), doomed.exitcode, other:join(10), other.exitcode)
print("broken", b.broken, b.n_waiting, raises(debug.getinfo(1, "l").currentline, pcall(b.wait, b, 5)))
b:reset()
print("reset", b.broken, b.n_waiting)

-- The same with the main script as the other waiter: a child starts the
-- party, waits until the main script waits too, and kills the party.
local b2 = mp.Barrier(3)
local killer = mp.Process{target = function(b2)
  local party = mp.Process{target = function(b2) b2:wait() end, args = {b2}}
  party:start()
  if not wait_until(function() return b2.n_waiting == 2 end) then os.exit(2) end
  party:kill()
  party:join()
  os.exit(party.exitcode == -9 and 0 or 3)
end, args = {b2}}
killer:start()
print("main waiter", raises(debug.getinfo(1, "l").currentline, pcall(b2.wait, b2, 20)))
print("killer", killer:join(10), killer.exitcode, b2.broken)
`

func TestObjectBarrierPartyDies(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"barrier.lua": barrierDeathScript})
	r := mphost(t, dir, "run", "barrier.lua")
	r.expect(t, 0, `first party waits	true
second party waits	true
other waiter	raises
joined	true	-9	true	0
broken	true	0	raises
reset	false	0
main waiter	raises
killer	true	0	true
`, "")
}

// pipeDeathScript kills a child that is the only holder of a pipe end, and
// one that shares its end with the main script.
const pipeDeathScript = `local mp = require("mp")

-- A child makes a pipe, hands one end to the main script through a queue,
-- keeps the other, sends three messages and is killed: it was the only
-- holder of its end, so the main script receives the three, then closed.
local carrier, sent = mp.Queue(), mp.Event()
local p = mp.Process{target = function(carrier, sent)
  local mine, theirs = mp.Pipe()
  carrier:put(theirs)
  for i = 1, 3 do mine:send({i = i}) end
  sent:set()
  mp.sleep(60) -- until killed
end, args = {carrier, sent}}
p:start()
local conn = carrier:get(true, 10)
print("sent", sent:wait(10))
print("before the death", conn:poll(0.05))
p:kill()
print("joined", p:join(10), p.exitcode)
for i = 1, 3 do print("drained", conn:recv().i) end
print("after", conn:recv())
print("poll at end", conn:poll(), conn:poll(0.05))
local ok, err = pcall(conn.send, conn, "x")
print("send to the dead end", ok and "did not raise" or
  (err:find("^pipe%.lua:23: Connection%.send: ") and err:find("closed", 1, true)) and "raises" or err)

-- An end the main script also holds stays open when a child holding it
-- dies: the main script can still use it.
local a, b = mp.Pipe()
local q = mp.Process{target = function(b) b:send("from child") os.exit(0) end, args = {b}}
q:start()
print("shared end", q:join(10), q.exitcode, a:recv(), a:poll(0.05))
b:send("still open")
print("shared end after death", a:recv())
`

func TestObjectPipeEndHolderDies(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"pipe.lua": pipeDeathScript})
	r := mphost(t, dir, "run", "pipe.lua")
	r.expect(t, 0, `sent	true
before the death	true
joined	true	-9
drained	1
drained	2
drained	3
after	nil	closed
poll at end	true	true
send to the dead end	raises
shared end	true	0	from child	false
shared end after death	still open
`, "")
}

// streamScript kills a producer in the middle of its puts: into an
// unbounded queue while it puts as fast as it can, and into a full queue of
// 10 while it waits in put.
const streamScript = `local mp = require("mp")

-- produce puts numbered tables as fast as it can, until killed.
local function produce(q)
  for i = 1, 1e9 do
    q:put({i = i, sq = i * i, s = string.rep(tostring(i % 10), 100 + i % 50), nested = {i = i, tail = "end"}})
  end
end

-- whole reports whether item is the i-th item, complete.
local function whole(item, i)
  return type(item) == "table" and item.i == i and item.sq == i * i
    and item.s == string.rep(tostring(i % 10), 100 + i % 50)
    and type(item.nested) == "table" and item.nested.i == i and item.nested.tail == "end"
end

-- An unbounded queue, then one of 10 items, which the producer fills and
-- waits on (it is killed in the middle of a put that cannot finish).
for _, maxsize in ipairs({0, 10}) do
  local q = mp.Queue(maxsize)
  local p = mp.Process{target = produce, args = {q}}
  p:start()
  local n, ok = 0, true
  for _ = 1, 5 do
    n = n + 1
    ok = whole(q:get(true, 10), n) and ok
  end
  if maxsize > 0 then
    local full = false
    for _ = 1, 1000 do
      full = q:full()
      if full then break end
      mp.sleep(0.01)
    end
    print(maxsize, "full before the kill", full)
  end
  p:kill()
  print(maxsize, "killed", p:join(10), p.exitcode)
  local size = q:qsize()
  while true do
    local item, status = q:get_nowait()
    if item == nil then
      print(maxsize, "then", status)
      break
    end
    n = n + 1
    if not whole(item, n) then
      ok = false
      print(maxsize, "item " .. n .. " is not whole or out of order:", type(item) == "table" and item.i or tostring(item))
      break
    end
  end
  print(maxsize, "whole, in order, no gaps", ok)
  if maxsize > 0 then print(maxsize, "items left after the kill", size, n) end
  io.stderr:write(string.format("queue(%d): %d items in all\n", maxsize, n))
end
`

func TestObjectQueueProducerKilledMidStream(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"stream.lua": streamScript})
	r := mphost(t, dir, "run", "stream.lua")
	// The queue of 10 was full and the producer waited in its 16th put.
	want := `0	killed	true	-9
0	then	empty
0	whole, in order, no gaps	true
10	full before the kill	true
10	killed	true	-9
10	then	empty
10	whole, in order, no gaps	true
10	items left after the kill	10	15
`
	if r.code != 0 {
		t.Errorf("exit %d, want 0", r.code)
	}
	if diff := lineDiff(want, r.stdout); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
	t.Logf("items received: %s", strings.ReplaceAll(strings.TrimSpace(r.stderr), "\n", "; "))
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
p:start()
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

// garbageScript holds a child running while the test calls the host's gRPC
// services itself, then takes what the test put into its queue and checks
// that the host still serves every process.
const garbageScript = `local mp = require("mp")
local q, go, lock = mp.Queue(), mp.Event(), mp.Lock()
print("ids " .. tostring(q):match("%d+") .. " " .. tostring(lock):match("%d+"))
local p = mp.Process{target = function(q, go)
  q:put("child ready")
  if not go:wait(20) then os.exit(2) end
  q:put("child after")
end, args = {q, go}}
p:start()
print(q:get(true, 10))
print("attack")
local n = tonumber(io.read("*l"))
-- the items the test put into q without the codec: each get either
-- raises here, at this line, or returns something; none ends the run
for i = 1, n do
  local ok, v, status = pcall(q.get, q, true, 5)
  if not ok then
    print("garbage item", i, "raised", v:match("^garbage%.lua:16: Queue%.get: ") ~= nil, v)
  elseif type(v) == "userdata" then
    print("garbage item", i, "returned", tostring(v), pcall(function() return v:locked() end))
  else
    print("garbage item", i, "returned", type(v), tostring(v), status)
  end
end
print("queue empty", q:get(false))
go:set()
print(q:get(true, 10))
print("child", p:join(10), p.exitcode)
local fresh = mp.Process{target = function(q) q:put("fresh") end, args = {q}}
fresh:start()
print(q:get(true, 10), fresh:join(10), fresh.exitcode)
print("lock", lock:acquire(true, 5))
print("end")
`

// garbageItems are queue items that the codec (format version 1, see
// script/codec.go) cannot or should not decode.
var garbageItems = [][]byte{
	{0xff, 0xfe, 0x00, 'g'},        // not version 1
	nil,                            // empty
	bytes.Repeat([]byte{0xff}, 64), // a varint that overflows
	{1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, // a string longer than the message
	{1, 7, 5},    // a reference to nothing
	{1, 3},       // an integer cut short
	{1, 0, 0, 0}, // bytes after the value
	{1, 8, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0}, // a function of an unknown chunk
	{1, 10, 4, 'L', 'o', 'c', 'k', 0x80, 0x80, 0x80, 0x80, 0x10},                                                          // a handle to a Lock that does not exist
	append(append(append([]byte{1}, bytes.Repeat([]byte{6, 1, 0}, 20000)...), 0), bytes.Repeat([]byte{0}, 20000)...),      // 20000 nested tables
}

// rawCodec sends and receives messages as the bytes they are, so that a
// call can carry a message that is not protobuf at all. It calls itself
// "proto", so that the server reads what it sends as protobuf.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// TestObjectHostServiceRejectsGarbage reaches the host's gRPC service the
// way a child does, through the run's unix sockets (any process of the same
// user can), and sends it garbage: bytes that are not HTTP/2, messages that
// are not protobuf, calls on objects that do not exist or with operations
// they do not have, nonsense arguments, items that are not in the codec's
// format. The host must answer each with an error, or store the item, and
// go on serving the script.
func TestObjectHostServiceRejectsGarbage(t *testing.T) {
	t.Parallel()
	tmp := shortTempDir(t)
	dir := writeFiles(t, map[string]string{"garbage.lua": garbageScript})
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "garbage.lua")
	ids := strings.Fields(s.nextLine(t, 30*time.Second, "ids "))
	queueID, err1 := strconv.ParseUint(ids[1], 10, 64)
	lockID, err2 := strconv.ParseUint(ids[2], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad ids line %q", ids)
	}
	s.nextLine(t, 30*time.Second, "child ready")
	s.nextLine(t, 30*time.Second, "attack")

	var sockets []string
	filepath.WalkDir(tmp, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSocket != 0 {
			sockets = append(sockets, path)
		}
		return nil
	})
	if len(sockets) == 0 {
		t.Skipf("no unix socket under the run's TMPDIR %s: the host's service is not reachable from outside", tmp)
	}

	// Bytes that are not HTTP/2 on every socket.
	for _, path := range sockets {
		c, err := net.Dial("unix", path)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\xfe garbage"))
		c.Read(make([]byte, 512))
		c.Close()
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	call := func(conn *grpc.ClientConn, method string, in, out any, opts ...grpc.CallOption) error {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		defer ccancel()
		return conn.Invoke(cctx, method, in, out, opts...)
	}
	var hostSockets, accepted int
	for _, path := range sockets {
		conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Which service is this? A worker's socket does not serve Host.
		err = call(conn, pb.Host_Invoke_FullMethodName, &pb.ObjectCall{Id: 1 << 60, Op: "get"}, new(pb.ObjectReply))
		if status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Unavailable {
			continue
		}
		hostSockets++
		if err == nil {
			t.Errorf("%s: a get on object 1<<60 succeeded", path)
		}

		// Messages that are not protobuf.
		junk := []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}
		for _, m := range []string{pb.Host_Invoke_FullMethodName, pb.Host_NewObject_FullMethodName, pb.Host_PutBatch_FullMethodName,
			pb.Host_Spawn_FullMethodName, pb.Host_Wait_FullMethodName, pb.Host_FetchChunk_FullMethodName} {
			var out []byte
			err := call(conn, m, &junk, &out, grpc.ForceCodec(rawCodec{}))
			if err == nil {
				t.Errorf("%s %s: a message that is not protobuf was taken", path, m)
			}
			if hostSockets == 1 {
				t.Logf("%s with a message that is not protobuf: %v", m, err)
			}
		}

		// Well-formed calls that make no sense: each must fail, none hang.
		for _, c := range []*pb.ObjectCall{
			{Id: queueID, Op: "no such operation"},
			{Id: lockID, Op: "get"},
			{Id: lockID, Op: "recv", Wait: &pb.Wait{Block: true, Forever: true}},
			{Id: queueID, Op: "task_done"},
			{Id: 0, Op: "acquire"},
		} {
			if err := call(conn, pb.Host_Invoke_FullMethodName, c, new(pb.ObjectReply)); err == nil || status.Code(err) == codes.DeadlineExceeded {
				t.Errorf("%s: Invoke %v: got %v, want an error at once", path, c, err)
			}
		}
		for _, req := range []*pb.NewObjectRequest{{Kind: "NoSuchKind"}, {Kind: "Condition", Id: queueID}, {Kind: ""}} {
			if err := call(conn, pb.Host_NewObject_FullMethodName, req, new(pb.NewObjectReply)); err == nil {
				t.Errorf("%s: NewObject %v succeeded", path, req)
			}
		}
		for _, req := range []*pb.PutBatchRequest{
			{Items: []*pb.QueueItem{{QueueId: 1 << 60, Data: []byte("x")}}},
			{Items: []*pb.QueueItem{{QueueId: lockID, Data: []byte("x")}}},
		} {
			if err := call(conn, pb.Host_PutBatch_FullMethodName, req, new(pb.Empty)); err == nil {
				t.Errorf("%s: PutBatch %v succeeded", path, req)
			}
		}
		// Nonsense arguments: the host may take them or refuse them.
		for _, req := range []*pb.NewObjectRequest{
			{Kind: "Semaphore", N: -7}, {Kind: "Queue", N: -1 << 62}, {Kind: "Barrier", N: 1 << 62}, {Kind: "Barrier", N: -3},
		} {
			call(conn, pb.Host_NewObject_FullMethodName, req, new(pb.NewObjectReply))
		}
		// A get that waits is ended by its caller: it must not take an item
		// put later.
		if err := call(conn, pb.Host_Invoke_FullMethodName,
			&pb.ObjectCall{Id: queueID, Op: "get", Wait: &pb.Wait{Block: true, TimeoutNs: -5}}, new(pb.ObjectReply)); status.Code(err) == codes.DeadlineExceeded {
			t.Errorf("%s: a get with a negative timeout waited: %v", path, err)
		}
		short, shortCancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err = conn.Invoke(short, pb.Host_Invoke_FullMethodName, &pb.ObjectCall{Id: queueID, Op: "get", Wait: &pb.Wait{Block: true, Forever: true}}, new(pb.ObjectReply))
		shortCancel()
		if err == nil {
			t.Errorf("%s: a get that waits forever on the empty queue returned", path)
		}

		// Items that are not in the codec's format, into the script's
		// queue. Only the socket of the child that runs a process takes
		// them: the others have no process to act for.
		for _, data := range garbageItems {
			err := call(conn, pb.Host_Invoke_FullMethodName,
				&pb.ObjectCall{Id: queueID, Op: "put", Wait: &pb.Wait{Block: true, Forever: true}, Value: &pb.Value{Data: data}}, new(pb.ObjectReply))
			if err == nil {
				accepted++
			}
		}
	}
	if hostSockets == 0 {
		t.Skipf("none of the sockets %v serves the Host service", sockets)
	}
	t.Logf("%d sockets, %d serving Host; the host took %d items that are not in the codec's format", len(sockets), hostSockets, accepted)

	if _, err := fmt.Fprintln(s.stdin, accepted); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= accepted; i++ {
		line := s.nextLine(t, 20*time.Second, "garbage item\t"+strconv.Itoa(i)+"\t")
		t.Log(line)
		// The get raises, or returns a handle to an object that does not
		// exist, whose use raises.
		rest := strings.TrimPrefix(line, fmt.Sprintf("garbage item\t%d\t", i))
		if !strings.HasPrefix(rest, "raised\ttrue\t") &&
			!(strings.HasPrefix(rest, "returned\t<Lock ") && strings.Contains(rest, ">\tfalse\tgarbage.lua:")) {
			t.Errorf("%q: want the get to raise at garbage.lua:16 with Queue.get", line)
		}
	}
	for _, want := range []string{"queue empty\tnil\tempty", "child after", "child\ttrue\t0", "fresh\ttrue\t0", "lock\ttrue", "end"} {
		if line := s.nextLine(t, 20*time.Second, ""); line != want {
			t.Errorf("stdout line %q, want %q", line, want)
		}
	}
	if code := s.wait(t, 20*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
}
