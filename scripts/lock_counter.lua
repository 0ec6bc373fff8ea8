-- Mutex: four processes add to one shared counter, each increment
-- under the lock, so no update is lost. Value:with holds the value's own
-- lock; lock:with holds a separate Lock (Python's `with lock:`).
local mp = require("mp")

local lock = mp.Lock()
local counter = mp.Value(0)

local function work(lock, counter, n)
  for _ = 1, n do
    lock:with(function()
      counter:set(counter:get() + 1)
    end)
  end
end

local workers = {}
for i = 1, 4 do
  workers[i] = mp.Process{target = work, args = {lock, counter, 250}}
  workers[i]:start()
end
for _, p in ipairs(workers) do
  p:join()
end
print("counter: " .. counter:get())
print("atomic add: " .. counter:add(5))
