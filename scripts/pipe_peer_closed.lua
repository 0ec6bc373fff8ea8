-- A child's send on a pipe end whose other end is closed raises at once,
-- also a send over 32 KB, which goes through the host: the end's gate, in
-- memory the processes share, says that the other end is closed. Nothing
-- else is affected: the child's puts arrive, its other calls run.
local mp = require("mp")

local a, b = mp.Pipe()
local q = mp.Queue()
local closed = mp.Event()
local lock = mp.Lock()

local p = mp.Process{target = function()
  a:send("first")
  q:put("before")          -- the queue is unbounded: the puts are batched
  closed:wait()
  print("a large send:", pcall(a.send, a, string.rep("lost", 10000)))
  print("event is set:", closed:is_set())
  q:put("after")
  print("lock acquired:", lock:acquire())
  lock:release()
  print("a small send:", pcall(a.send, a, "again"))
  q:put("last")
end}
p:start()
print("parent got:", b:recv())
b:close()
closed:set()
p:join()
print("queue holds:", q:get(), q:get(), q:get(), q:get_nowait())
print("exitcode:", p.exitcode)
