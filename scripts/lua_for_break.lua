-- A generic for whose body starts with break runs its iterator once and
-- leaves the loop, even after other loops: gopher-lua v1.1.2 compiles this
-- loop's back edge wrong (a crash, or a jump into an earlier loop), and
-- mphost mends the compiled code (script/chunks.go, fixForInLoops). The
-- usual way to leave an imap early works too.
local mp = require("mp")

local items = {10, 20, 30}
local sum = 0
for _, v in ipairs(items) do sum = sum + v end
for i = 1, 3 do sum = sum + i end
print("before:", sum)

local calls = 0
local function counted(t)
  return function(_, k)
    calls = calls + 1
    return next(t, k)
  end, t, nil
end
for _ in counted(items) do break end
print("iterator calls for a loop that breaks at once:", calls)
for _ in pairs(items) do do break end end
print("inside a do block too")

local function first(t)
  for k in pairs(t) do return k end
end
print("a loop that returns:", first({x = 1}))

local pool = mp.Pool(2)
for v in pool:imap(function(x) return x * 2 end, items) do break end
print("after leaving an imap at once:", table.concat(pool:map(function(x) return x + 1 end, items), " "))
-- The workers compile the script too, mended the same way.
print("in a worker:", pool:apply(function(t)
  local n = 0
  for _, v in ipairs(t) do n = n + v end
  for _ in pairs(t) do break end
  return n
end, {items}))
pool:close()
pool:join()
