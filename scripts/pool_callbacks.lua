-- Callbacks of apply_async and map_async run in the calling process, inside
-- its next mp call, a pool's own methods included. A callback that raises
-- raises from that call, and the others stay pending for the next. A pool's
-- join runs its own callbacks without waiting for another pool's tasks.
local mp = require("mp")

local pool = mp.Pool(1) -- one worker: tasks run in the order they were given
local log = {}
local function note(v) log[#log + 1] = tostring(v) end
local function noop() end

pool:apply_async(function() return "a" end, {}, note)
pool:apply(noop, {})        -- "a" has finished when this returns...
pool:apply_async(noop, {})  -- ...and its callback runs inside this call
print("inside a pool call:", table.concat(log, " "))

pool:apply_async(function() return "b" end, {}, function() error("callback failed", 0) end)
pool:map_async(function(x) return x * 2 end, {1, 2}, nil, function(vs) note(table.concat(vs, "+")) end)
pool:apply(noop, {})
print("a raising callback:", pcall(pool.apply_async, pool, noop, {}))
mp.sleep(0)
print("the other ran next:", table.concat(log, " "))

local slow = mp.Pool(1)
local go = mp.Event() -- set once the first pool is joined: the slow task waits for it
slow:apply_async(function(ev) ev:wait(30) return "slow" end, {go}, note)
pool:apply_async(function() return "c" end, {}, note)
pool:close()
pool:join()
print("after one pool's join:", table.concat(log, " "))
go:set()
slow:close()
slow:join()
print("after the other's:", table.concat(log, " "))
