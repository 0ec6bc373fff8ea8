-- An idle child for BenchmarkChildMemory: start one Process that sets
-- ready and waits on stop, wait for ready, print "PID <the child's pid>", then
-- read one line from stdin (the benchmark writes it once it has read the
-- child's memory), set stop and join. child_idle.py is the same in Python.
local mp = require("mp")

local ready, stop = mp.Event(), mp.Event()

local function idle(ready, stop)
  ready:set()
  stop:wait()
end

local p = mp.Process{target = idle, args = {ready, stop}}
p:start()
if not ready:wait(60) then error("the child did not get ready in 60 s") end
print("PID " .. p.pid)
io.stdout:flush()
io.read("*l")
stop:set()
p:join()
