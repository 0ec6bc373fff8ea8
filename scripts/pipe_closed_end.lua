-- An end whose other end is closed says so to every process, in the same
-- words: poll is true, recv returns nil, "closed", send raises. An end that
-- this process closed raises at every use (use after close), with the
-- calling line: send, recv, recv_bytes, poll. A closed end may still be
-- passed to a process, which then finds it closed (it does not fail to
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
print("main, its end closed, recv:", pcall(b.recv, b))
print("main, its end closed, recv_bytes:", pcall(b.recv_bytes, b))
print("main, its end closed, send:", pcall(b.send, b, "x"))
print("main, its end closed, close again:", pcall(b.close, b))
p = mp.Process{target = function()
  print("child, its end closed, poll:", pcall(b.poll, b))
  print("child, its end closed, recv:", b:recv())
end}
p:start()
p:join()
print("the child's exit code:", p.exitcode)
