-- pool:map(square, {1, ..., 10000}, 1) on a Pool of 2: one task per item.
-- RESULT: the mean time of one map. The pool is created before, and closed
-- and joined after, the timing; the warm-up is a map of 10 items.
-- pool_map_chunk1.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local N = 10000

local function square(x)
  return x * x
end

local items = {}
for i = 1, N do items[i] = i end

local pool = mp.Pool(2)
harness.measure(function()
  local results = pool:map(square, items, 1)
  if #results ~= N or results[N] ~= N * N then
    error(string.format("%d results, the last %s", #results, tostring(results[N])))
  end
end, function()
  pool:map(square, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 1)
end)
pool:close()
pool:join()
