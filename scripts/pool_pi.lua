-- stderr: speedup of 2 workers over 1:
--
-- CPU-bound work in a Pool of 2: a Monte Carlo estimate of pi. Each chunk
-- draws its points from its own Park-Miller generator, seeded by the chunk's
-- number, so the estimate is the same on every run and for any scheduling.
-- The same map on a Pool of 1 first shows the speedup (on stderr: it
-- varies with the machine and its load; bench/ measures it properly).
local mp = require("mp")

local CHUNKS, POINTS = 8, 100000

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

-- timed maps the chunks on a pool of n workers, made and warmed up first,
-- and returns the hits and the seconds the map took.
local function timed(n)
  local pool = mp.Pool(n)
  pool:map(inside, {1, 2}, 1)
  local t0 = os.clock()
  local hits = 0
  for _, h in ipairs(pool:map(inside, chunks, 1)) do hits = hits + h end
  local took = os.clock() - t0
  pool:close()
  pool:join()
  return hits, took
end

local one, alone = timed(1)
local hits, together = timed(2)
assert(one == hits, "one worker and two counted differently")
io.stderr:write(string.format("speedup of 2 workers over 1: %.2fx (%.3f s against %.3f s, %d CPUs)\n",
  alone / together, together, alone, mp.cpu_count()))

local estimate = 4 * hits / (CHUNKS * POINTS)
print(string.format("%d of %d points inside", hits, CHUNKS * POINTS))
print(string.format("pi is about %.2f", estimate))
print("within 0.05 of math.pi:", math.abs(estimate - math.pi) < 0.05)
