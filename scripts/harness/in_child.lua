-- in_child.lua SCRIPT [ARGS...] runs SCRIPT as the target of one child
-- process, with arg[0] = SCRIPT and arg[1..] = ARGS as the main script would
-- see them, and exits with the child's exit status. TestScripts runs a
-- script this way when its header says "-- in a child".
local mp = require("mp")

local path = arg[1]
local chunk = assert(loadfile(path))
local args = {[0] = path}
for i = 2, #arg do args[i - 1] = arg[i] end
arg = args

local p = mp.Process{target = chunk, args = args}
p:start()
p:join()
local code = p.exitcode
if code < 0 then code = 128 - code end -- killed by signal -code, as a shell says
os.exit(code)
