-- An item or argument that cannot be sent is named by its path in what the
-- caller passed: the 11th item, the 2nd argument list's 2nd argument, the
-- 2nd argument's field x (as Process.start's args[1].cb); the pool still
-- maps afterwards.
local mp = require("mp")
local pool = mp.Pool(2)
local co = coroutine.create(function() end)
local items = {}
for i = 1, 10 do items[i] = i end
items[11] = {cb = co}
print(pcall(pool.map, pool, tostring, items, 5))
print(pcall(pool.starmap, pool, tostring, {{1}, {2, co}}))
print(pcall(pool.apply, pool, tostring, {1, {x = co}}))
print("after", table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}), " "))
pool:close()
pool:join()
