-- stderr: Process failing (pid
-- stderr: scripts/process_exitcodes.lua:15: something broke
-- stderr: stack traceback:
--
-- How a child ends sets its exitcode: 0 on success, n after os.exit(n), 1
-- after an uncaught error (printed to stderr with the process's name, pid and
-- traceback). os.exit ends the process even under pcall, xpcall or
-- coroutine.resume: nothing after it runs, not xpcall's handler, not an
-- endless loop (a child's VM does not check between instructions whether it
-- should stop).
local mp = require("mp")

local cases = {
  {name = "ok", target = function() end},
  {name = "failing", target = function() error("something broke") end},
  {name = "exit-3", target = function() os.exit(3) end},
  {name = "exit-true", target = function() os.exit(true) end},
  {name = "exit-in-pcall", target = function() pcall(os.exit, 5); print("after pcall") end},
  {name = "exit-in-xpcall", target = function()
    xpcall(function() os.exit(6) end, function(e) print("handler ran") return e end)
    print("after xpcall")
  end},
  {name = "exit-in-coroutine", target = function()
    coroutine.resume(coroutine.create(function() os.exit(7) end))
    print("after resume")
  end},
  {name = "exit-then-loop", target = function() pcall(pcall, os.exit, 8); while true do end end},
  {name = "exit-in-nested-coroutines", target = function()
    local outer = coroutine.wrap(function()
      xpcall(function()
        coroutine.resume(coroutine.create(function() os.exit(9) end))
        print("after the inner coroutine")
      end, function(e) print("outer handler ran") return e end)
      print("after xpcall in the outer coroutine")
    end)
    outer()
    print("after the outer coroutine")
  end},
  {name = "exit-in-wrapped-coroutine", target = function()
    xpcall(coroutine.wrap(function() os.exit(10) end), function(e) print("handler ran") return e end)
    print("after the wrapped coroutine")
  end},
  {name = "pcall-still-catches", target = function()
    print(pcall(error, "caught", 0))
    print(coroutine.resume(coroutine.create(function(a) return a + coroutine.yield(a) end), 20))
    local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    print(gen(1), gen(5), pcall(coroutine.wrap(function() error("in a wrap", 0) end)))
  end},
}
for _, c in ipairs(cases) do
  local p = mp.Process(c)
  p:start()
  if not p:join(10) then -- an exit that did not end the process
    p:kill()
    p:join()
  end
  print(p.name, p.exitcode)
end
