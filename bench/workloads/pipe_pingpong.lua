-- A child echoes every message it receives on its end of a duplex Pipe; the
-- parent sends a small int and waits for it to come back, 1000 times.
-- RESULT: the mean time of one batch of 1000 round trips (the benchmark
-- divides). The child is started before, and stopped after, the timing; the
-- warm-up is 100 round trips. pipe_pingpong.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local ROUND_TRIPS = 1000

local function echo(conn)
  while true do
    local m = conn:recv()
    if m == "stop" or m == nil then return end
    conn:send(m)
  end
end

local mine, theirs = mp.Pipe()
local p = mp.Process{target = echo, args = {theirs}}
p:start()

local function batch(n)
  for i = 1, n do
    mine:send(i)
    local v = mine:recv()
    if v ~= i then
      error(string.format("sent %d, got back %s", i, tostring(v)))
    end
  end
end

harness.measure(function() batch(ROUND_TRIPS) end, function() batch(100) end)

mine:send("stop")
p:join()
