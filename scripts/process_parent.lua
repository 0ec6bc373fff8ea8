-- mp.parent_process() is a process object, as in Python: nil in the main
-- script; in a child, the same object at each call, with the parent's name
-- and pid, is_alive(), and join([timeout]), which waits for the parent to
-- end. A parent cannot be started, terminated or closed by its child.
local mp = require("mp")

print("main's parent", mp.parent_process())
local lines = mp.Queue()
local main_pid = mp.current_process().pid

local child = mp.Process{name = "child", target = function()
  local pp = mp.parent_process()
  local function say(...) lines:put(table.concat({...}, " ")) end
  say("child's parent", pp.name, tostring(pp.pid == main_pid), tostring(pp == mp.parent_process()))
  say("alive", tostring(pp:is_alive()), "exitcode", tostring(pp.exitcode))
  say("join(0.05)", tostring(pp:join(0.05)), "join(-1)", tostring(pp:join(-1)))
  for _, m in ipairs({"terminate", "kill", "start", "close"}) do
    local ok, err = pcall(function() return pp[m](pp) end)
    say(m, tostring(ok), err)
  end
  -- A grandchild sees this child end: the child exits (os.exit) without
  -- waiting for it.
  local ready = mp.Event()
  mp.Process{name = "grandchild", target = function()
    local gp = mp.parent_process()
    say("grandchild's parent", gp.name, tostring(gp:is_alive()))
    ready:set()
    say("joined its parent", tostring(gp:join(60)), "alive", tostring(gp:is_alive()), tostring(gp.exitcode))
  end}:start()
  ready:wait()
  os.exit(3)
end}
child:start()
child:join()
print("child exitcode", child.exitcode)
for _ = 1, 9 do print(lines:get(true, 60)) end
