-- The Pool's methods one by one: starmap, imap, imap_unordered, apply,
-- apply_async with a callback, map_async with an error_callback, what an
-- AsyncResult tells, a get that times out, an initializer, closures as the
-- mapped function, and close + join.
local mp = require("mp")

-- The initializer runs once in each worker; the global it sets is what the
-- tasks read there (the main script's GREETING is nil, so none is shipped).
local function init(greeting) GREETING = greeting end
local pool = mp.Pool{processes = 2, initializer = init, initargs = {"hello"}}
print("initializer:", table.concat(pool:map(function(name) return GREETING .. " " .. name end, {"ann", "bob"}), ", "))

-- starmap: each item is a list of arguments.
local powers = pool:starmap(function(base, exp) return base ^ exp end, {{2, 10}, {3, 3}, {10, 2}})
print("starmap:", table.concat(powers, " "))

-- imap yields the results in order, as they come; imap_unordered as they
-- finish (sorted here, since that order varies).
local squares = {}
for v in pool:imap(function(x) return x * x end, {1, 2, 3, 4, 5}, 2) do squares[#squares + 1] = v end
print("imap:", table.concat(squares, " "))
local cubes = {}
for v in pool:imap_unordered(function(x) return x * x * x end, {1, 2, 3, 4, 5}) do cubes[#cubes + 1] = v end
table.sort(cubes)
print("imap_unordered:", table.concat(cubes, " "))

-- apply runs one call in a worker and waits for it.
print("apply:", pool:apply(string.format, {"%s-%03d", "id", 7}))

-- A closure is shipped with its upvalues (a snapshot taken at the call).
local factor, offset = 10, 1
local function scale(x) return x * factor + offset end
print("closure:", table.concat(pool:map(scale, {1, 2, 3}), " "))
factor = 100
print("closure, factor changed:", table.concat(pool:map(scale, {1, 2, 3}), " "))

-- apply_async returns at once; its callback runs here, inside a later mp
-- call (the wait below).
local seen
local result = pool:apply_async(function(a, b) return a + b end, {20, 22}, function(v) seen = v end)
print("wait:", result:wait(10), "callback saw:", seen)
print("ready:", result:ready(), "successful:", result:successful(), "get:", result:get())

-- map_async with an error_callback: one item raises, so the whole result
-- fails; get raises the same error.
local reported
local failing = pool:map_async(function(x)
  if x == 3 then error("no threes") end
  return x
end, {1, 2, 3, 4}, 1, function() print("callback: not called") end, function(err) reported = err end)
failing:wait(10)
print("error_callback got:", (reported:match("^[^\n]*")))
print("successful:", failing:successful())
local ok, err = pcall(failing.get, failing)
print("get raises:", ok, (err:match("^[^\n]*")))

-- A slow task, which waits for an event: get with a timeout returns nil,
-- "timeout"; the result is not ready, and once the event is set it is.
local gate = mp.Event()
local slow = pool:apply_async(function(gate) gate:wait(60) return "slow done" end, {gate})
print("get(0.05):", slow:get(0.05))
print("wait(0.05):", slow:wait(0.05), "ready:", slow:ready())
gate:set()
print("get():", slow:get(), "ready:", slow:ready())

-- close: no more tasks; join waits for the workers to finish.
pool:close()
pool:join()
local closed_ok, closed_err = pcall(pool.map, pool, scale, {1})
print("map after close raises:", not closed_ok, closed_err:find("the pool is closed", 1, true) ~= nil)
