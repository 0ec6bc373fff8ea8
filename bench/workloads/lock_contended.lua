-- Two child processes each do N increments of one shared Value under one
-- Lock (acquire, set(get()+1), release), at the same time. RESULT: the mean
-- time of one round of 2*N increments (the benchmark divides). The two
-- children are started before the timing and wait on a Pipe for the word to
-- start a round, so that process start-up does not count; the warm-up is a
-- round of 2*50.
-- lock_contended.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local N = 1000 -- increments per process per round

local function incrementer(lock, value, conn)
  while true do
    local n = conn:recv()
    if n == "stop" or n == nil then return end
    for _ = 1, n do
      lock:acquire()
      value:set(value:get() + 1)
      lock:release()
    end
    conn:send(n)
  end
end

local lock, value = mp.Lock(), mp.Value(0)
local conns, procs = {}, {}
for i = 1, 2 do
  local mine, theirs = mp.Pipe()
  conns[i] = mine
  procs[i] = mp.Process{target = incrementer, args = {lock, value, theirs}}
  procs[i]:start()
end

local function round(n)
  local before = value:get()
  for _, c in ipairs(conns) do c:send(n) end
  for _, c in ipairs(conns) do c:recv() end
  local after = value:get()
  if after - before ~= 2 * n then
    error(string.format("the value went up by %d, want %d", after - before, 2 * n))
  end
end

harness.measure(function() round(N) end, function() round(50) end)

for i, c in ipairs(conns) do
  c:send("stop")
  procs[i]:join()
end
