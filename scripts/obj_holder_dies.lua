-- A child takes a Lock, an RLock twice, both permits of a Semaphore(2), a
-- BoundedSemaphore and a Value's lock, and dies holding them: SIGKILL while
-- another process waits for the lock, os.exit, an uncaught error. The first
-- process to take each object afterwards gets true, "abandoned" (once per
-- permit for the semaphore); everyone after gets plain true. Only the
-- holder that raised writes to stderr (obj_holder_dies.err).
local mp = require("mp")

-- hold takes the Lock, the RLock twice, both permits of the Semaphore, the
-- BoundedSemaphore's permit and the Value's lock, says so, then dies as
-- told while holding them all.
local function hold(o, how)
  o.lock:acquire() o.rlock:acquire() o.rlock:acquire() o.sem:acquire() o.sem:acquire() o.bsem:acquire()
  o.value:with(function()
    o.ready:set() o.go:wait(60) -- until the main script has peeked (or killed)
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
    value = mp.Value(0), ready = mp.Event(), go = mp.Event()}
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
    print(how, "main peeks", peek(o)) o.go:set()
    print(how, "holder", holder:join(10), holder.exitcode)
    print(how, "main takes", take(o))
    local report = mp.Queue()
    local taker = start(function(o, report) report:put(take(o)) end, o, report)
    print(how, "other process takes", report:get(true, 20))
    print(how, "other process", taker:join(10), taker.exitcode)
  end
end
