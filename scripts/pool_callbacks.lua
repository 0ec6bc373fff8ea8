-- Callbacks of apply_async and map_async run in the calling process, at the
-- start of its next mp call (a pool's or a shared object's method, or
-- mp.sleep), for the results whose tasks had all finished before that call
-- began. A callback that raises raises from that call, and the others stay
-- pending for the next. A pool's join runs, after joining, those of the
-- results finished by then, without waiting for another pool's tasks.
local mp = require("mp")

local pool = mp.Pool(1) -- one worker: tasks run in the order they were given
local log = {}
local function note(v) log[#log + 1] = tostring(v) end
local function noop() end

-- "a" has finished when apply returns, so the call after it runs a's
-- callback, if apply itself did not (a may have finished before it began).
pool:apply_async(function() return "a" end, {}, note)
pool:apply(noop, {})
pool:apply_async(noop, {})
print("inside a pool call:", table.concat(log, " "))

-- "b" waits for go, so no call before go:set() finds it (or the map queued
-- behind it) finished; last:wait() waits for both without running their
-- callbacks (an AsyncResult's methods run only its own). The next mp call
-- then runs them in order: b's raises from that call, the map's waits.
local go = mp.Event()
pool:apply_async(function(ev) ev:wait(60) return "b" end, {go}, function() error("callback failed", 0) end)
pool:map_async(function(x) return x * 2 end, {1, 2}, nil, function(vs) note(table.concat(vs, "+")) end)
local last = pool:apply_async(noop, {})
go:set()
last:wait()
print("the callbacks have not run:", table.concat(log, " "))
print("a raising callback:", pcall(mp.sleep, 0))
print("the other was left pending:", table.concat(log, " "))
mp.sleep(0)
print("and ran in the next call:", table.concat(log, " "))

local slow = mp.Pool(1)
local release = mp.Event() -- set once the first pool is joined: the slow task waits for it
slow:apply_async(function(ev) ev:wait(60) return "slow" end, {release}, note)
pool:apply_async(function() return "c" end, {}, note)
pool:close()
pool:join()
print("after one pool's join:", table.concat(log, " "))
release:set()
slow:close()
slow:join()
print("after the other's:", table.concat(log, " "))
