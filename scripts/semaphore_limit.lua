-- The seed's semaphore: six processes share two permits, so at most two run
-- their critical section at once. Inside it, the two holders meet at a
-- barrier of two (so two are inside at once, each time), look at how many
-- are inside, and meet again before leaving.
local mp = require("mp")

local sem = mp.Semaphore(2)
local inside = mp.Value(0)
local peak = mp.Value(0)
local pair = mp.Barrier(2, 30)

local function work(sem, inside, peak, pair)
  sem:with(function()
    inside:add(1)
    pair:wait()
    local now = inside:get()
    peak:with(function()
      if now > peak:get() then peak:set(now) end
    end)
    pair:wait()
    inside:add(-1)
  end)
end

local ps = {}
for i = 1, 6 do
  ps[i] = mp.Process{target = work, args = {sem, inside, peak, pair}}
  ps[i]:start()
end
for _, p in ipairs(ps) do p:join() end
print("most inside at once: " .. peak:get())
print("permits left: " .. sem:get_value())
