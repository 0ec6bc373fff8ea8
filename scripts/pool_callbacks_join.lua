-- Python's usual pattern: apply_async with a callback that collects, then
-- close and join, and no get. The callbacks run inside the caller's next mp
-- call, so all have run once join returns.
local mp = require("mp")
local pool = mp.Pool(2)
local results = {}
for i = 1, 5 do
  pool:apply_async(function(x) return x * x end, {i}, function(v) results[#results + 1] = v end)
end
pool:close()
pool:join()
table.sort(results)
print("after join", table.concat(results, " "))
