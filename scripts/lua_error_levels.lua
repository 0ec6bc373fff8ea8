-- error(msg, level) blames the line Lua 5.1 blames: level 1 the caller of
-- error, 2 its caller, and so on; none at a Go function (pcall(error, "x")
-- raises "x"), a tail call or beyond the stack. The same in a child.
-- (The output is what Lua 5.1 prints for the same checks, twice.)
local mp = require("mp")

local function checks()
  local function lvl(n) error("msg", n) end
  local function caller(n)
    lvl(n)
  end
  local function outer(n)
    caller(n)
  end
  for n = 0, 4 do print("level " .. n, pcall(outer, n)) end
  print("default", pcall(function() error("default") end))
  print("number", pcall(function() error(42) end))
  print("number level 2", pcall(function() error(1.5, 2) end))
  print("table", pcall(function() error({}, 2) end) == false)
  print("nil", pcall(error))
  print("pcall(error, x)", pcall(error, "x"))
  print("pcall(error, x, 2)", pcall(error, "x", 2))
  print("from a Go function", pcall(string.gsub, "a", "a", error))
  print("coroutine", coroutine.resume(coroutine.create(function() error("in co") end)))
  print("coroutine level 2", coroutine.resume(coroutine.create(function() error("in co", 2) end)))
  print("coroutine caller", coroutine.resume(coroutine.create(function() caller(2) end)))
  print("wrap", pcall(coroutine.wrap(function() caller(2) end)))
  print("method", pcall(function() local t = {} function t:f() error("m", 2) end t:f() end))
  print("xpcall", xpcall(function() caller(3) end, function(e) return "handled: " .. e end))
  local function tailed(n) error("msg", n) end
  local function tailer(n) return tailed(n) end
  print("tail call", pcall(function() tailer(2) end))
  print("after a tail call", pcall(function() tailer(3) end))
  print("coroutine tail call", coroutine.resume(coroutine.create(function() tailer(2) end)))
end

checks()
local p = mp.Process{target = checks}
p:start()
p:join()
print("child exitcode", p.exitcode)
