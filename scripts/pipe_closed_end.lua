-- An end that is closed says so to every process, in the same words: poll
-- raises, recv returns nil, "closed", send raises. A closed end may still
-- be passed to a process, which then finds it closed (it does not fail to
-- start). poll on the send-only end of a one-way pipe raises.
local mp = require("mp")

local a, b = mp.Pipe()
local r, s = mp.Pipe(false)
a:close()

local function report(who)
  print(who, "poll:", pcall(b.poll, b))
  print(who, "recv:", b:recv())
  print(who, "send:", pcall(b.send, b, "x"))
  print(who, "poll on the send-only end:", pcall(s.poll, s))
end

report("main")
local p = mp.Process{target = function() report("child") end}
p:start()
p:join()
print("the child's exit code:", p.exitcode)

-- Now the end itself is closed, before a process gets it.
b:close()
print("main, its end closed, poll:", pcall(b.poll, b))
p = mp.Process{target = function()
  print("child, its end closed, poll:", pcall(b.poll, b))
  print("child, its end closed, recv:", b:recv())
end}
p:start()
p:join()
print("the child's exit code:", p.exitcode)
