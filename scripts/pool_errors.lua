-- A task that raises: the caller gets the error with the worker's file:line
-- and the worker's traceback, and the pool goes on working.
local mp = require("mp")

local function check(x)
  if x == 3 then
    error("bad item " .. x) -- the worker's line the error names
  end
  return x * 2
end

local pool = mp.Pool(2)
local ok, err = pcall(pool.map, pool, check, {1, 2, 3, 4})
print("map ok:", ok)
print("first line:", (err:match("^[^\n]*")))
print("has the worker's traceback:", err:find("stack traceback", 1, true) ~= nil)
print("traceback names check's line:", err:find("\n\tscripts/pool_errors.lua:7:", 1, true) ~= nil)

-- The same through apply, and a runtime error rather than error().
ok, err = pcall(pool.apply, pool, function(t) return t.missing.field end, {{}})
print("apply ok:", ok)
print("first line:", (err:match("^[^\n]*")))

-- The pool is still usable afterwards.
print("map after the errors:", table.concat(pool:map(check, {1, 2, 4, 5}), " "))
pool:close()
pool:join()
