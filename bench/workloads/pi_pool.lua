-- The Monte Carlo estimate of pi (pi.lua) in a Pool of WORKERS (the second
-- argument; 2 when omitted): pool:map over its 8 chunks with chunksize 1, 4e6
-- samples. RESULT: the mean time of one estimate. The pool is created
-- before, and closed and joined after, the timing; the warm-up maps 2 chunks.
-- pi_serial.lua does the same work in the main script; pi_pool.py is the
-- same in Python.
local mp = require("mp")
local harness = require("harness")
local pi = require("pi")

local chunks = {}
for k = 1, pi.CHUNKS do chunks[k] = k end

local pool = mp.Pool(tonumber(arg[2]) or 2)
harness.measure(function()
  local hits = 0
  for _, h in ipairs(pool:map(pi.inside, chunks, 1)) do
    hits = hits + h
  end
  pi.check(hits)
end, function()
  pool:map(pi.inside, {1, 2}, 1)
end)
pool:close()
pool:join()
