-- What a pool's workers call is a snapshot of the function taken at each
-- call (map, apply, ...): its upvalues start from the caller's values every
-- time, whatever an earlier call did to them in a worker. Within one call, a
-- worker's chunks share that call's copy (unless a task of another call of
-- the same function ran there in between). The host keeps a function while
-- a call uses it and the 64 used last, and a worker the 64 it used last, so
-- a loop of distinct closures does not pile them up; a worker that dropped
-- a function it needs again fetches it from the host.
local mp = require("mp")

local count = 0
local function counter() count = count + 1 return count end

local pool = mp.Pool(1)
print("first map:", table.concat(pool:map(counter, {1, 2, 3, 4}, 1), " "))
print("second map:", table.concat(pool:map(counter, {1, 2, 3, 4}, 1), " "))
print("apply:", pool:apply(counter, {}))
count = 10
print("after count = 10:", pool:apply(counter, {}))
print("the caller's count:", count)

-- 100 distinct closures, each with its own 10 KB upvalue, all pending at
-- once: more than a worker keeps (64), so the first one, used again while
-- its call is still pending, is fetched from the host.
local fs, rs = {}, {}
for i = 1, 100 do
  local pad = string.rep("x", 10240)
  fs[i] = function() return i + #pad - 10240 end
end
for i = 1, 100 do rs[i] = pool:apply_async(fs[i], {}) end
print("first closure again:", pool:apply(fs[1], {}))
local sum = 0
for i = 1, 100 do sum = sum + rs[i]:get() end
print("sum of 100 results:", sum)
pool:close()
pool:join()
