-- in a child
--
-- Every object handed to a child five ways (as Process args, inside a
-- table, inside a queue item, inside a pipe message, as kwargs): the child's
-- handles name the same objects and act on them. Run in the main script,
-- then in a child whose children are the host's grandchildren.
local mp = require("mp")

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

local function check(how, o, start)
  local function say(...) print(how, ...) end
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

local o = objects()
check("args", o, function()
  local p = mp.Process{target = function(lock, rlock, sem, bsem, event, cond, barrier, queue, jqueue, conn, value, results)
    use({lock = lock, rlock = rlock, sem = sem, bsem = bsem, event = event, cond = cond, barrier = barrier,
      queue = queue, jqueue = jqueue, conn = conn, value = value, results = results}, "args")
  end, args = {o.lock, o.rlock, o.sem, o.bsem, o.event, o.cond, o.barrier, o.queue, o.jqueue, o.conn, o.value, o.results}}
  p:start()
  return p
end)
o = objects()
check("table", o, function()
  local p = mp.Process{target = function(t) use(t.objects, "table") end, args = {{objects = o}}}
  p:start()
  return p
end)
o = objects()
check("queue item", o, function()
  local carrier = mp.Queue()
  local p = mp.Process{target = function(carrier) use(carrier:get(true, 10), "queue item") end, args = {carrier}}
  p:start()
  carrier:put(o)
  return p
end)
o = objects()
check("pipe message", o, function()
  local mine, theirs = mp.Pipe()
  local p = mp.Process{target = function(c) use(c:recv(), "pipe message") end, args = {theirs}}
  p:start()
  mine:send(o)
  return p
end)
o = objects()
check("kwargs", o, function()
  local p = mp.Process{target = function(kw) use(kw, "kwargs") end, kwargs = o}
  p:start()
  return p
end)
