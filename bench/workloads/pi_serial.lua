-- The Monte Carlo estimate of pi (pi.lua) in this one process: its 8 chunks
-- one after the other, 4e6 samples. RESULT: the mean time of one estimate;
-- the warm-up is one small chunk. pi_pool.lua does the same work in a Pool
-- of 2; pi_serial.py is the same in Python.
local harness = require("harness")
local pi = require("pi")

harness.measure(function()
  local hits = 0
  for k = 1, pi.CHUNKS do
    hits = hits + pi.inside(k)
  end
  pi.check(hits)
end, function()
  pi.inside(1)
end)
