-- One child process takes and gives a Lock that no other process wants, N
-- times in a row (acquire, release). RESULT: the mean time of one round of N
-- pairs (the benchmark divides). The child is started before the timing and
-- waits on a Pipe for the word to start a round, so that process start-up
-- does not count; the warm-up is a round of 1000.
-- lock_uncontended.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local N = 100000 -- pairs per round

local function taker(lock, conn)
  while true do
    local n = conn:recv()
    if n == "stop" or n == nil then return end
    for _ = 1, n do
      lock:acquire()
      lock:release()
    end
    conn:send(n)
  end
end

local lock = mp.Lock()
local mine, theirs = mp.Pipe()
local proc = mp.Process{target = taker, args = {lock, theirs}}
proc:start()

local function round(n)
  mine:send(n)
  mine:recv()
end

harness.measure(function() round(N) end, function() round(1000) end)

mine:send("stop")
proc:join()
