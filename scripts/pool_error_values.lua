-- A task's error value that can cross processes (a table, a number)
-- arrives in the caller as itself, a copy, metatable included: in map,
-- apply, an AsyncResult's get, an error callback and at an imap step. One
-- that cannot cross arrives as text: the value, and why it could not.
local mp = require("mp")

local pool = mp.Pool(2)

local function fail(code)
  error({code = code, msg = "bad"})
end

local function show(label, ok, e)
  if type(e) == "table" then
    print(label, ok, "a table:", e.code, e.msg)
  else
    print(label, ok, type(e), (tostring(e):match("^[^\n]*")))
  end
end

show("apply:", pcall(pool.apply, pool, fail, {1}))
show("map:", pcall(pool.map, pool, function(x)
  if x == 3 then fail(x) end
  return x
end, {1, 2, 3, 4}))
show("starmap:", pcall(pool.starmap, pool, fail, {{4}}))
local r = pool:apply_async(fail, {5})
show("get:", pcall(r.get, r))
print("successful:", r:successful())

local got
r = pool:map_async(fail, {6}, nil, nil, function(e) got = e end)
r:wait()
show("error callback:", true, got)

local it = pool:imap(function(x)
  if x == 2 then fail(7) end
  return x
end, {1, 2, 3})
for _ = 1, 4 do show("imap step:", pcall(it)) end

-- A number (at level 0, so no position makes it a string), a boolean, a
-- table with a metatable (its __tostring is a function: it crosses too).
show("a number:", pcall(pool.apply, pool, function() error(42, 0) end, {}))
show("false:", pcall(pool.apply, pool, function() error(false) end, {}))
local ok, e = pcall(pool.apply, pool, function()
  error(setmetatable({why = "meta"}, {__tostring = function(t) return "E(" .. t.why .. ")" end}))
end, {})
print("with a metatable:", ok, tostring(e), e.why)

-- A value that cannot cross: a coroutine in it.
show("cannot cross:", pcall(pool.apply, pool, function()
  error({code = 9, co = coroutine.create(print)})
end, {}))

-- Its text shows the fields: the array first, then the keys in order,
-- nested tables two levels deep.
show("its fields:", pcall(pool.apply, pool, function()
  local t = {"first", 2, co = coroutine.create(print), ["not a name"] = true, deep = {a = {b = 1}}}
  t.self = t
  error(t)
end, {}))

-- The pool goes on.
print("map after:", table.concat(pool:map(function(x) return x + 1 end, {1, 2, 3}), " "))
pool:close()
pool:join()
