-- Misuse of a Process raises at the calling line and says what is wrong:
-- unknown options and wrong types (mp.Process{...}, the base init of a
-- subclass, setting fields), a method called with a dot or too many
-- arguments, a process joining itself, and any use of a closed process
-- object but its name. A negative timeout means do not wait, as in Python.
local mp = require("mp")

local function try(what, ok, err)
  print(what .. ":", ok, err)
end

try("name a table", pcall(function() return mp.Process{name = {}} end))
try("unknown option", pcall(function() return mp.Process{bogus = 1} end))
try("daemon a string", pcall(function() return mp.Process{daemon = "yes"} end))
try("target a number", pcall(function() return mp.Process{target = 1} end))
try("args a string", pcall(function() return mp.Process{args = "x"} end))
try("kwargs a number", pcall(function() return mp.Process{kwargs = 2} end))
try("options a number", pcall(function() return mp.Process(5) end))
try("memory_limit a table", pcall(function() return mp.Process{memory_limit = {}} end))
try("memory_limit no unit", pcall(function() return mp.Process{memory_limit = "12 apples"} end))
try("memory_limit 0", pcall(function() return mp.Process{memory_limit = 0} end))

local Sub = mp.Process:extend()
function Sub:init(opts) mp.Process.init(self, opts) end
try("subclass unknown option", pcall(function() return Sub{tagret = print} end))
try("extend with a dot", pcall(function() return mp.Process.extend() end))

local p = mp.Process{target = function() end, name = "worker"}
try("name set to a number", pcall(function() p.name = 5 end))
try("daemon set to 1", pcall(function() p.daemon = 1 end))
try("start with a dot", pcall(function() p.start() end))
try("start with an argument", pcall(function() p:start(1) end))
try("join before start", pcall(function() return p:join() end))
p:start()
try("join(-1) does not wait", pcall(function() return type(p:join(-1)) end))
try("join with two arguments", pcall(function() return p:join(1, 2) end))
try("join a string", pcall(function() return p:join("1") end))
print("joined", p:join(), p.exitcode)

local me = mp.current_process()
try("join itself", pcall(function() return me:join() end))
try("terminate itself", pcall(function() return me:terminate() end))
try("start itself", pcall(function() return me:start() end))
print("current", me.name, me:is_alive(), me.exitcode, me == mp.current_process())

p:close()
try("is_alive after close", pcall(function() return p:is_alive() end))
try("exitcode after close", pcall(function() return p.exitcode end))
try("pid after close", pcall(function() return p.pid end))
try("join after close", pcall(function() return p:join() end))
try("kill after close", pcall(function() return p:kill() end))
try("start after close", pcall(function() return p:start() end))
print("closed", p.name, tostring(p), pcall(function() return p:close() end))

local e = mp.Event()
print("negative timeouts", e:wait(-1), mp.Queue():get(true, -5), (mp.Pipe()):poll(-1), mp.Lock():acquire(true, -1))
