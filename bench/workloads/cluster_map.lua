-- pool:map(square, {1, ..., 10000}, 100) on a Pool of 2: 100 tasks of 100
-- items. bench/cluster_test.go runs it with mphost run --cluster on two
-- cluster workers and without, on local processes. RESULT: the mean time of
-- one map. The pool is created before, and closed and joined after, the
-- timing; the warm-up is a map of 200 items.
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
  local results = pool:map(square, items, 100)
  if #results ~= N or results[N] ~= N * N then
    error(string.format("%d results, the last %s", #results, tostring(results[N])))
  end
end, function()
  local few = {}
  for i = 1, 200 do few[i] = i end
  pool:map(square, few, 100)
end)
pool:close()
pool:join()
