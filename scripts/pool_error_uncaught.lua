-- exit: 1
-- stderr: {code = 7, why = "in a process"}
-- stderr: scripts/pool_error_uncaught.lua:23: Pool.apply: {code = 42, msg = "bad"}
-- stderr: scripts/pool_error_uncaught.lua:19: in function <scripts/pool_error_uncaught.lua:18>
-- stderr: scripts/pool_error_uncaught.lua:23: in main chunk
--
-- An uncaught error table prints readably: its fields. A process's prints
-- after the line naming the process. One that a pool task raised prints as
-- the caller received it, after the pool method's name, with the worker's
-- traceback (the function's line) and then the caller's (the main chunk).
local mp = require("mp")

local p = mp.Process{target = function() error({code = 7, why = "in a process"}) end}
p:start()
p:join()
print("the process's exitcode:", p.exitcode)

local function fail(code)
  error({code = code, msg = "bad"})
end

local pool = mp.Pool(1)
pool:apply(fail, {42})
print("not reached")
