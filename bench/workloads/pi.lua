-- pi.lua: the Monte Carlo estimate of pi that pi_serial.lua and pi_pool.lua
-- time (pi.py is its twin). SAMPLES points are drawn in CHUNKS chunks; chunk k
-- draws from its own Park-Miller generator seeded by k, so the count of hits
-- is the same however the chunks are scheduled, and the same in Python.
local M = {}

M.SAMPLES, M.CHUNKS = 4000000, 8
M.HITS = 3141133 -- what every run must count, Lua or Python

-- inside counts the points of chunk k that fall inside the unit circle.
-- It is shipped to pool workers, so it reads only its upvalue and locals.
local PER_CHUNK = M.SAMPLES / M.CHUNKS
function M.inside(k)
  local seed = 12345 + 7919 * k -- in 1 .. 2^31-2
  local hits = 0
  for _ = 1, PER_CHUNK do
    seed = 16807 * seed % 2147483647 -- exact in a double
    local x = seed / 2147483647
    seed = 16807 * seed % 2147483647
    local y = seed / 2147483647
    if x * x + y * y <= 1 then hits = hits + 1 end
  end
  return hits
end

-- check raises unless hits is the expected count.
function M.check(hits)
  if hits ~= M.HITS then
    error(string.format("%d hits, want %d (pi about %.5f)", hits, M.HITS, 4 * hits / M.SAMPLES))
  end
end

return M
