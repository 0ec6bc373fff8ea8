package main

import (
	"strings"
	"testing"
)

// The tests of this file kill or end processes that hold shared objects:
// the holder of a lock or semaphore, a party waiting at a barrier, the only
// holder of a pipe end, a producer in the middle of its puts. See
// objects_api_test.go for what all the objects_*_test.go files share.

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
