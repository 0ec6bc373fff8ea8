-- stderr: Process failing (pid
-- stderr: scripts/process_exitcodes.lua:12: something broke
-- stderr: stack traceback:
--
-- How a child ends sets its exitcode: 0 on success, n after os.exit(n), 1
-- after an uncaught error (printed to stderr with the process's name, pid and
-- traceback).
local mp = require("mp")

local cases = {
  {name = "ok", target = function() end},
  {name = "failing", target = function() error("something broke") end},
  {name = "exit-3", target = function() os.exit(3) end},
  {name = "exit-true", target = function() os.exit(true) end},
}
for _, c in ipairs(cases) do
  local p = mp.Process(c)
  p:start()
  p:join()
  print(p.name, p.exitcode)
end
