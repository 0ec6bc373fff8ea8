-- A child runs one Lua VM on one goroutine, so the host starts it with
-- GOMAXPROCS set (1, unless the host's own environment sets it): the Go
-- runtime then never makes, and keeps the memory of, a P per core.
local mp = require("mp")

local q = mp.Queue()
local p = mp.Process{target = function(q) q:put(os.getenv("GOMAXPROCS") or false) end, args = {q}}
p:start()
local got = q:get(true, 60)
p:join()
print("GOMAXPROCS set in the child", got ~= false)
print("to 1 or to the host's", got == (os.getenv("GOMAXPROCS") or "1"))
