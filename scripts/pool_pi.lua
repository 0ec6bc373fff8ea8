-- CPU-bound work in a Pool of 2: a Monte Carlo estimate of pi. Each chunk
-- draws its points from its own Park-Miller generator, seeded by the chunk's
-- number, so the estimate is the same on every run and for any scheduling:
-- a Pool of 1 counts the same. (The speedup of a second worker is measured
-- by BenchmarkPiPool in bench/, not here: this script only shows the
-- results are right, and stays small for a loaded machine.)
local mp = require("mp")

local CHUNKS, POINTS = 8, 5000

-- inside counts the points of chunk k that fall inside the unit circle.
local function inside(k)
  local seed = 12345 + 7919 * k -- any seed in 1 .. 2^31-2
  local function random()
    seed = 16807 * seed % 2147483647 -- exact in a double
    return seed / 2147483647
  end
  local hits = 0
  for _ = 1, POINTS do
    local x, y = random(), random()
    if x * x + y * y <= 1 then hits = hits + 1 end
  end
  return hits
end

local chunks = {}
for k = 1, CHUNKS do chunks[k] = k end

-- count maps the chunks on a pool of n workers and returns the hits.
local function count(n)
  local pool = mp.Pool(n)
  local hits = 0
  for _, h in ipairs(pool:map(inside, chunks, 1)) do hits = hits + h end
  pool:close()
  pool:join()
  return hits
end

local hits = count(2)
print("a pool of 1 counts the same:", count(1) == hits)
local estimate = 4 * hits / (CHUNKS * POINTS)
print(string.format("%d of %d points inside", hits, CHUNKS * POINTS))
print(string.format("pi is about %.2f", estimate))
print("within 0.05 of math.pi:", math.abs(estimate - math.pi) < 0.05)
