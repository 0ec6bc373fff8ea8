-- in a child
--
-- Every method of every shared object, called from the process the script
-- runs in (the main script, then a child: the same lines either way),
-- including each way a wait can time out and each mistake that raises. A
-- "raises" is a pcall that failed with an error starting with this file's
-- name and the line of the call, and naming the method and the mistake.
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source

do
  -- raises reports how a pcall made on the caller's line ended: "raises"
  -- when the error starts with this file's name and that line and contains
  -- each of texts.
  local function raises(texts, ok, err)
    local prefix = FILE .. ":" .. debug.getinfo(2, "l").currentline .. ": "
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
  print("Lock", l:locked(), l:acquire(), l:locked())
  print("Lock held: timeout, no block", l:acquire(true, 0.05), l:acquire(false), l:acquire(false, 5))
  l:release()
  print("Lock released", l:locked(), l:acquire(false))
  l:release()
  print("Lock release unheld", raises({"Lock.release", "not hold"}, pcall(l.release, l)))
  print("Lock with", l:with(function(a, b) return l:locked(), a + b, "r" end, 1, 2))
  print("Lock with raising", raises({"inside"}, pcall(l.with, l, function() error("inside") end)), l:locked())
  print("Lock acquire bad block", raises({"block must be a boolean"}, pcall(l.acquire, l, "yes")))

  -- RLock: reentrant in its process
  local r = mp.RLock()
  print("RLock", r:acquire(), r:acquire(), r:acquire(false), r:acquire(true, 0.05), r:locked())
  r:release() r:release() r:release()
  print("RLock one level left", r:locked())
  r:release()
  print("RLock all released", r:locked())
  print("RLock release unheld", raises({"RLock.release", "not hold"}, pcall(r.release, r)))
  print("RLock nested with", r:with(function() return r:with(function() return r:locked(), "deep" end) end))
  print("RLock after with", r:locked())

  -- Semaphore: a counter; release may go above the start
  local s = mp.Semaphore(2)
  print("Semaphore", s:get_value(), s:acquire(), s:acquire(), s:get_value())
  print("Semaphore empty: timeout, no block", s:acquire(true, 0.05), s:acquire(false), s:get_value())
  s:release() s:release() s:release()
  print("Semaphore released above start", s:get_value())
  print("Semaphore with", s:with(function() return s:get_value() end), s:get_value())
  local zero = mp.Semaphore(0)
  print("Semaphore(0)", zero:get_value(), zero:acquire(false), zero:acquire(true, 0.05))
  print("Semaphore default", mp.Semaphore():get_value())
  print("Semaphore(-1)", raises({"value must be >= 0"}, pcall(mp.Semaphore, -1)))

  -- BoundedSemaphore: not above its start
  local bs = mp.BoundedSemaphore(2)
  print("BoundedSemaphore", bs:acquire(), bs:get_value(), bs:acquire(), bs:acquire(true, 0.05), bs:get_value())
  bs:release() bs:release()
  print("BoundedSemaphore over-release", raises({"BoundedSemaphore.release", "more times"}, pcall(bs.release, bs)), bs:get_value())
  print("BoundedSemaphore with", bs:with(function() return bs:get_value() end), bs:get_value())

  -- Event
  local e = mp.Event()
  print("Event clear", e:is_set(), e:wait(0.05), e:wait(0))
  e:set()
  print("Event set", e:is_set(), e:wait(), e:wait(0.05))
  e:set()
  e:clear()
  print("Event cleared", e:is_set(), e:wait(0.05))

  -- Condition over its own RLock, and over a given Lock
  local c = mp.Condition()
  print("Condition unheld", raises({"Condition.notify", "not held"}, pcall(c.notify, c)),
    raises({"Condition.notify_all", "not held"}, pcall(c.notify_all, c)),
    raises({"Condition.wait", "not held"}, pcall(c.wait, c, 0.05)))
  print("Condition acquire", c:acquire(), c:acquire(false))
  c:release()
  print("Condition wait timeout", c:wait(0.05))
  local calls = 0
  print("Condition wait_for false", c:wait_for(function() calls = calls + 1 return false end, 0.05), calls > 1)
  print("Condition wait_for true at once", c:wait_for(function() return 42 end, 0.05))
  calls = 0
  print("Condition wait_for true later", c:wait_for(function() calls = calls + 1 return calls >= 2 and "second" end, 0.05), calls)
  c:notify() c:notify(3) c:notify_all()
  print("Condition still held after wait", pcall(c.notify, c))
  c:release()
  print("Condition release unheld", raises({"Condition.release", "not hold"}, pcall(c.release, c)))
  print("Condition with", c:with(function(x) return x * 2, pcall(c.notify, c) end, 21))
  local cl = mp.Lock()
  local c2 = mp.Condition(cl)
  c2:acquire()
  print("Condition over a Lock", cl:locked(), cl:acquire(false), c2:wait(0.05), cl:locked())
  c2:release()
  print("Condition lock released", cl:locked())
  print("Condition(bad lock)", raises({"Lock or RLock expected"}, pcall(mp.Condition, mp.Queue())))

  -- Barrier
  local one = mp.Barrier(1)
  print("Barrier(1)", one:wait(), one:wait(0.05), one.parties, one.n_waiting, one.broken)
  local b = mp.Barrier(2)
  print("Barrier wait timeout", raises({"Barrier.wait", "broken"}, pcall(b.wait, b, 0.05)), b.broken, b.n_waiting)
  print("Barrier broken", raises({"Barrier.wait", "broken"}, pcall(b.wait, b, 5)))
  b:reset()
  print("Barrier reset", b.broken, b.parties)
  b:abort()
  print("Barrier abort", b.broken, raises({"Barrier.wait", "broken"}, pcall(b.wait, b)))
  b:reset()
  local bt = mp.Barrier(2, 0.05)
  print("Barrier default timeout", raises({"Barrier.wait", "broken"}, pcall(bt.wait, bt)), bt.broken)
  print("Barrier(0)", raises({"parties must be >= 1"}, pcall(mp.Barrier, 0)))

  -- Queue, unbounded
  local q = mp.Queue()
  print("Queue new", q:empty(), q:full(), q:qsize())
  print("Queue put", q:put(1), q:put("two", true, 0.05), q:put_nowait({3, t = {x = "y"}}), q:put(false), q:qsize(), q:empty(), q:full())
  local t3
  print("Queue get", q:get(), q:get(true, 0.05))
  t3 = q:get_nowait()
  print("Queue get table", t3[1], t3.t.x, q:get(false))
  print("Queue drained", q:get(true, 0.05))
  print("Queue get no block", q:get(false))
  print("Queue get_nowait", q:get_nowait())
  print("Queue put nil", raises({"Queue.put", "nil"}, pcall(q.put, q, nil)))
  print("Queue put coroutine", raises({"Queue.put", "item", "coroutine"}, pcall(q.put, q, co)))
  print("Queue put nested coroutine", raises({"Queue.put", "item.a[1]", "coroutine"}, pcall(q.put, q, {a = {co}})))
  print("Queue refused puts left nothing", q:qsize())

  -- Queue, bounded
  local bq = mp.Queue(2)
  print("Queue(2)", bq:put("a"), bq:put("b"), bq:full(), bq:qsize())
  print("Queue(2) full", bq:put("c", true, 0.05))
  print("Queue(2) no block", bq:put("c", false))
  print("Queue(2) put_nowait", bq:put_nowait("c"))
  print("Queue(2) room again", bq:get(), bq:put_nowait("c"), bq:get(), bq:get(), bq:empty())

  -- close: put raises, get drains then says closed (a bounded queue: for
  -- an unbounded one, whose puts a child batches, see obj_queue_closed.lua)
  local cq = mp.Queue(5)
  cq:put("left 1") cq:put("left 2")
  cq:close()
  cq:close()
  print("Queue put after close", raises({"Queue.put", "closed"}, pcall(cq.put, cq, "late")))
  print("Queue drains after close", cq:get(), cq:get_nowait())
  print("Queue closed and drained", cq:get())
  print("Queue closed: timeout, no block", cq:get(true, 0.05))
  print("Queue closed: get_nowait", cq:get_nowait())

  -- JoinableQueue
  local jq = mp.JoinableQueue()
  jq:join()
  print("JoinableQueue", jq:put("t1"), jq:put("t2"), jq:qsize())
  print("JoinableQueue get", jq:get(), jq:get_nowait(), jq:empty())
  jq:task_done()
  jq:task_done()
  jq:join()
  print("JoinableQueue joined")
  print("JoinableQueue task_done too many", raises({"JoinableQueue.task_done", "too many"}, pcall(jq.task_done, jq)))
  local bjq = mp.JoinableQueue(1)
  print("JoinableQueue(1)", bjq:put("x"), bjq:put_nowait("y"), bjq:put("y", true, 0.05), bjq:full())
  print("JoinableQueue(1) get", bjq:get(), bjq:get(true, 0.05))
  bjq:task_done()
  bjq:join()

  -- Pipe, duplex
  local a, z = mp.Pipe()
  print("Pipe poll nothing", a:poll(), a:poll(0.05), z:poll(0))
  z:send({x = 1, list = {"p", "q"}})
  z:send("second")
  print("Pipe poll message", a:poll(), a:poll(0.05))
  local m = a:recv()
  print("Pipe recv", m.x, m.list[2], a:recv(), a:poll(0.05))
  a:send("back")
  print("Pipe other way", z:recv())
  z:send_bytes("\0\1\255 bytes")
  local raw = a:recv_bytes()
  print("Pipe bytes", #raw, raw == "\0\1\255 bytes")
  print("Pipe send coroutine", raises({"Connection.send", "message[1]", "coroutine"}, pcall(a.send, a, {co})))
  z:send("last words")
  z:close()
  print("Pipe after peer close", a:poll(), a:recv())
  print("Pipe closed", a:poll(), a:poll(0.05), a:recv())
  print("Pipe recv closed again", a:recv_bytes())
  print("Pipe send on closed", raises({"Connection.send", "closed"}, pcall(z.send, z, 1)))
  print("Pipe send to closed", raises({"Connection.send", "closed"}, pcall(a.send, a, 1)))
  z:close()

  -- Pipe, one way: the first end receives, the second sends
  local rx, tx = mp.Pipe(false)
  tx:send("one way")
  print("Pipe(false)", rx:poll(0.05), rx:recv())
  print("Pipe(false) send on receiver", raises({"Connection.send", "only receives"}, pcall(rx.send, rx, 1)))
  print("Pipe(false) recv on sender", raises({"Connection.recv", "only sends"}, pcall(tx.recv, tx)))
  rx:close()
  print("Pipe(false) closed reader", raises({"Connection.send", "closed"}, pcall(tx.send, tx, 1)))

  -- Value
  local v = mp.Value(5)
  print("Value", v:get(), v:add(2), v:add(-0.5), v:get())
  v:set("text")
  print("Value set", v:get(), raises({"Value.add", "not a number"}, pcall(v.add, v, 1)))
  v:set({1, {2}})
  print("Value table", v:get()[2][1])
  v:set(10)
  print("Value with", v:with(function(k) v:set(v:get() * k) return v:get(), "done" end, 3), v:get())
  print("Value nested with", v:with(function() return v:with(function() return v:add(1) end) end))
  print("Value with raising", raises({"in value"}, pcall(v.with, v, function() error("in value") end)),
    v:with(function() return "lock free" end))
  print("Value set coroutine", raises({"Value.set", "coroutine"}, pcall(v.set, v, co)))
  print("Value nil", mp.Value():get(), mp.Value(nil):get())

  -- tostring
  print("tostring", tostring(l):match("^<Lock %d+>$") ~= nil, tostring(q):match("^<Queue %d+>$") ~= nil)
end

