-- Each Pool method refuses a function that closes over a coroutine,
-- directly or through another function, at the calling line, naming the
-- upvalue and the line of the function that holds it; the pool still maps
-- afterwards.
local mp = require("mp")
local pool = mp.Pool(2)
local co = coroutine.create(function() end)
local function uses_co(x) return coroutine.status(co), x end
print(pcall(pool.map, pool, uses_co, {1, 2}))
print(pcall(pool.starmap, pool, uses_co, {{1}}))
print(pcall(pool.imap, pool, uses_co, {1}))
print(pcall(pool.imap_unordered, pool, uses_co, {1}))
print(pcall(pool.apply, pool, uses_co, {1}))
print(pcall(pool.apply_async, pool, uses_co, {1}))
print(pcall(pool.map_async, pool, uses_co, {1}))
print(pcall(pool.map, pool, function(x) return uses_co(x) end, {1}))
print("after", table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}), " "))
pool:close()
pool:join()
