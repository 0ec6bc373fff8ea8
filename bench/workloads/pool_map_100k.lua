-- pool:map(square, {1, ..., 100000}) on a Pool of 2 with the default
-- chunksize. RESULT: the mean time of one map. The pool is created before,
-- and closed and joined after, the timing. pool_map_100k.py is the same in
-- Python.
local mp = require("mp")
local harness = require("harness")

local N = 100000

local function square(x)
  return x * x
end

local items = {}
for i = 1, N do items[i] = i end

local pool = mp.Pool(2)
harness.measure(function()
  local results = pool:map(square, items)
  if #results ~= N or results[N] ~= N * N then
    error(string.format("%d results, the last %s", #results, tostring(results[N])))
  end
end)
pool:close()
pool:join()
