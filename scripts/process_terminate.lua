-- Terminate example: terminate() stops a running child (SIGTERM,
-- so its exitcode is -15) and is_alive() follows its state.
local mp = require("mp")

local p = mp.Process{target = function() while true do mp.sleep(0.05) end end}
print("before start: alive " .. tostring(p:is_alive()) .. ", exitcode " .. tostring(p.exitcode))
p:start()
print("after start: alive " .. tostring(p:is_alive()) .. ", exitcode " .. tostring(p.exitcode))
p:terminate()
print("joined: " .. tostring(p:join(5)))
print("after terminate: alive " .. tostring(p:is_alive()) .. ", exitcode " .. tostring(p.exitcode))

local k = mp.Process{target = function() while true do end end}
k:start()
k:kill()
k:join()
print("after kill: exitcode " .. k.exitcode)
