-- The seed's semaphore: six processes share two permits, so at most two run
-- their critical section at once. Each records the concurrency it saw.
local mp = require("mp")

local sem = mp.Semaphore(2)
local inside = mp.Value(0)
local peak = mp.Value(0)

local function work(sem, inside, peak)
  sem:with(function()
    local now = inside:add(1)
    peak:with(function()
      if now > peak:get() then peak:set(now) end
    end)
    mp.sleep(0.05)
    inside:add(-1)
  end)
end

local ps = {}
for i = 1, 6 do
  ps[i] = mp.Process{target = work, args = {sem, inside, peak}}
  ps[i]:start()
end
for _, p in ipairs(ps) do p:join() end
print("most inside at once: " .. peak:get())
print("permits left: " .. sem:get_value())
