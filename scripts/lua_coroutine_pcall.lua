-- Inside pcall and xpcall, at any nesting, the coroutine functions see the
-- thread the script runs on: coroutine.running() is nil in the main thread
-- and the coroutine inside one, coroutine.status names it running (and
-- normal from a coroutine it resumed). A yield across pcall fails as in Lua
-- 5.1 and leaves the coroutine whole. (The output is what Lua 5.1 prints.)
print("main", coroutine.running())
print("pcall", pcall(coroutine.running))
print("in pcall", pcall(function() return coroutine.running() end))
print("nested", pcall(pcall, function() return coroutine.running() end))
print("xpcall", xpcall(function() return coroutine.running() end, print))

local co
co = coroutine.create(function()
  print("co", coroutine.running() == co, coroutine.status(co))
  print("co pcall", pcall(function() return coroutine.running() == co, coroutine.status(co) end))
  print("co nested", pcall(function()
    return xpcall(function()
      return pcall(function() return coroutine.running() == co end)
    end, print)
  end))
  local inner = coroutine.create(function()
    return pcall(function() return coroutine.status(co) end)
  end)
  print("resumed from a pcall", pcall(function() return coroutine.resume(inner) end))
  print("yield in pcall", pcall(function() coroutine.yield("lost") end))
  print("yield pcall'd", pcall(coroutine.yield, "lost"))
  print("yield in xpcall", xpcall(function() coroutine.yield("lost") end, function(e) return "handled: " .. e end))
  print("yields after", coroutine.yield("kept"))
  return "done"
end)
print("resume", coroutine.resume(co))
print("resume again", coroutine.resume(co, "sent"))
print("status", coroutine.status(co))
print("in main pcall", pcall(function() coroutine.yield() end))
