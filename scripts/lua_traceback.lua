-- debug.traceback inside pcall and xpcall lists the whole stack, as Lua 5.1
-- does: the protected function's frames, then the pcall or xpcall frame,
-- then the frames of its caller, through any nesting, with message, level
-- and tail calls as gopher-lua prints them, and debug.getinfo counts levels
-- the same way; the same in a child process.
-- (The output is what mphost printed before pcall ran on a thread of its
-- own; Lua 5.1 prints the same frames, with [C] for [G].)
local mp = require("mp")

local function checks()
  -- The common idiom.
  local function inner() error("deep") end
  local function mid() inner() end
  print(xpcall(mid, debug.traceback))

  -- Nested pcall and xpcall.
  print(pcall(function()
    return select(2, xpcall(function() local t = nil; return t.x end, debug.traceback))
  end))
  print(xpcall(function()
    return select(2, pcall(function() return debug.traceback("message") end))
  end, print))

  -- Levels: 0 shows traceback itself, past the end shows nothing.
  local function at(n) return debug.traceback("level " .. n, n) end
  for n = 0, 3 do print(pcall(at, n)) end
  print(pcall(at, 50))
  print(xpcall(function() error("e") end, function(e) return debug.traceback(e, 2) end))

  -- Tail calls.
  local function t3() return debug.traceback("tail") end
  local function t2() return t3() end
  print(pcall(function() return t2() end))

  -- A deep stack through pcalls is cut in the middle.
  local function nest(n)
    if n == 0 then return debug.traceback("nested") end
    return select(2, pcall(nest, n - 1))
  end
  print(nest(12))

  -- In a coroutine, the traceback ends at the coroutine's first frame; its
  -- thread as argument is the current thread.
  local co = coroutine.create(function()
    print(pcall(function() return debug.traceback("in a coroutine") end))
    print(pcall(function() return debug.traceback(coroutine.running()) end))
  end)
  print(pcall(coroutine.resume, co))

  -- debug.getinfo counts levels the same way.
  local function info(level)
    local i = debug.getinfo(level, "Sln")
    return i and table.concat({i.what, tostring(i.name), i.currentline}, " ")
  end
  print(pcall(function() return info(2), info(3), info(4), info(5) end))
end

checks()
local p = mp.Process{target = checks}
p:start()
p:join()
print("child exitcode", p.exitcode)
