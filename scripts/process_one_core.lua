-- The host starts a child with GOMAXPROCS=1 (a child runs one Lua VM on
-- one goroutine), and the child takes it out of its environment again:
-- the programs a script runs get the host's environment, as from the main
-- script (process_one_core_test.go checks the child's start environment).
local mp = require("mp")

local q = mp.Queue()
local p = mp.Process{target = function(q) q:put(os.getenv("GOMAXPROCS") or false) end, args = {q}}
p:start()
local got = q:get(true, 60)
p:join()
print("the child's GOMAXPROCS is the host's", got == (os.getenv("GOMAXPROCS") or false))
