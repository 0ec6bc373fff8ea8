-- A child's send on a pipe end that the end's socket cannot take (a message
-- over 32 KB, or the socket is full) is posted to the host: send returns
-- before the host has run it. One that fails (the other end was closed
-- meanwhile) is raised by the next operation on that end, and by nothing
-- else: the puts made after it arrive, other calls run.
local mp = require("mp")

local a, b = mp.Pipe()
local q = mp.Queue()
local closed = mp.Event()
local lock = mp.Lock()

local p = mp.Process{target = function()
  a:send("first")
  q:put("before")          -- the queue is unbounded: the next puts are batched
  closed:wait()
  a:send(string.rep("lost", 10000)) -- posted; fails in the host, as b is closed
  print("event is set:", closed:is_set())
  q:put("after")
  print("lock acquired:", lock:acquire())
  lock:release()
  print("next operation on a:", pcall(a.send, a, "again"))
  print("and the one after:", pcall(a.send, a, "again"))
  q:put("last")
end}
p:start()
print("parent got:", b:recv())
b:close()
closed:set()
p:join()
print("queue holds:", q:get(), q:get(), q:get(), q:get_nowait())
print("exitcode:", p.exitcode)
