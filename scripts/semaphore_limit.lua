-- Semaphore: six processes share two permits, so at most two run
-- their critical section at once. Each says when it is inside and stays
-- there until the main process lets it go; the main process lets a pair go
-- once both are inside, and no third has come in the meantime (it gives a
-- third 0.2 s to show up: that wait is the check, not a synchronisation).
local mp = require("mp")

local sem = mp.Semaphore(2)
local inside = mp.Value(0)
local entered, leave = mp.Queue(), mp.Queue()

local function work(sem, inside, entered, leave)
  sem:with(function()
    inside:add(1)
    entered:put(true)
    local go = leave:get(true, 30)
    inside:add(-1)
    if not go then error("never let go") end
  end)
end

local ps = {}
for i = 1, 6 do
  ps[i] = mp.Process{target = work, args = {sem, inside, entered, leave}}
  ps[i]:start()
end
for round = 1, 3 do
  local a, b = entered:get(true, 30), entered:get(true, 30)
  local third = entered:get(true, 0.2)
  print("round " .. round .. ": both in " .. tostring(a and b) .. ", inside " .. inside:get() .. ", a third came in " .. tostring(third ~= nil))
  leave:put(true)
  leave:put(true)
end
for _, p in ipairs(ps) do p:join(30) end
print("permits left: " .. sem:get_value())
