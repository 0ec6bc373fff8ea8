-- A target is any function: closures keep their upvalues (a snapshot taken
-- at start), globals they read travel with them, and two closures that share
-- an upvalue still share it in the child. Nothing re-runs the script's top
-- level in the child: no __main__ guard is needed.
local mp = require("mp")

print("top level runs once")

helpers = {greet = function(who) return "hello, " .. who end}
local count = 0
local function bump() count = count + 1 return count end
local function read() return count end

local p = mp.Process{target = function(who)
  bump() bump()
  print(helpers.greet(who), "count in child:", read())
end, args = {"child"}}
count = 10
p:start()
count = 20
p:join()
print("count in parent:", count)
