-- Closures keep sharing their upvalues after errors caught by pcall and
-- xpcall, in the main script and in a child (the output is what Lua 5.1
-- prints for the same checks, twice).
local mp = require("mp")

local function checks()
  local function check(name, f)
    print(name, f())
  end

  check("lua error", function()
    local n = 0
    local function bump() n = n + 1 end
    pcall(function() error("x") end); bump()
    pcall(function() error("y") end); bump()
    return n
  end)
  check("go error", function()
    local n = 0
    local function bump() n = n + 1 end
    pcall(string.rep); bump()
    pcall(string.rep); bump()
    return n
  end)
  check("runtime error", function()
    local n = 0
    local function bump() n = n + 1 end
    pcall(function() return 1 + nil end); bump()
    pcall(function() return {} .. "" end); bump()
    return n
  end)
  check("nested function", function()
    local n = 0
    local function bump() n = n + 1 end
    local function deep(k) if k == 0 then error("deep") end return deep(k - 1) + 1 end
    pcall(deep, 5); bump()
    pcall(deep, 3); bump()
    return n
  end)
  check("nested pcall", function()
    local n = 0
    local function bump() n = n + 1 end
    pcall(function() pcall(error, "in"); bump(); error("out") end); bump()
    return n
  end)
  check("coroutine", function()
    local n = 0
    local function bump() n = n + 1 end
    local co = coroutine.create(function()
      pcall(error, "a"); bump()
      pcall(error, "b"); bump()
      coroutine.yield(n)
      pcall(error, "c"); bump()
      return n
    end)
    local _, first = coroutine.resume(co)
    local _, second = coroutine.resume(co)
    return first, second, n
  end)
  check("xpcall", function()
    local n = 0
    local function bump() n = n + 1 end
    local function handler(e) bump() return "handled " .. e end
    local ok1, e1 = xpcall(function() error("x", 0) end, handler); bump()
    local ok2, e2 = xpcall(function() error("y", 0) end, handler); bump()
    return ok1, e1, ok2, e2, n
  end)
  check("two closures", function()
    local x = 0
    local function inc() x = x + 1 end
    local function get() return x end
    pcall(error, "e"); pcall(error, "e"); inc(); inc()
    return get(), x
  end)
  check("loop", function()
    local fs, out = {}, {}
    for i = 1, 3 do
      local v = i
      fs[i] = function() v = v * 10; return v end
      pcall(error, "e")
      fs[i]()
      out[#out + 1] = v
    end
    for i = 1, 3 do out[#out + 1] = fs[i]() end
    return table.concat(out, " ")
  end)
  check("closure made in the failing call", function()
    local saved
    pcall(function()
      local x = "kept"
      saved = function() return x end
      error("e")
    end)
    local a, b, c, d, e = "a", "b", "c", "d", "e"
    local function other(p, q, r) return p .. q .. r end
    other(a, b, c)
    return saved(), a .. e
  end)
  check("error object", function()
    local n = 0
    local function bump() n = n + 1 end
    pcall(error, {}); pcall(error, {}); bump()
    return n
  end)
end

checks()
-- A failing mp call.
local n = 0
local function bump() n = n + 1 end
bump(); pcall(string.rep); bump()
local q = mp.Queue()
pcall(q.put, q, nil); bump()
print("mp call", n)

local p = mp.Process{target = checks}
p:start()
p:join()
print("child exitcode", p.exitcode)
