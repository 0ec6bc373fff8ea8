-- pcall of a callable table whose __call is a Go function (an mp class)
-- reports the caller's line in the errors it raises, as pcall of a Go
-- function does; a Lua __call still keeps its closures' upvalues shared.
local mp = require("mp")
print(pcall(mp.Process, {bogus = 1}))
print(pcall(mp.Process, {name = {}}))
local n = 0
local function bump() n = n + 1 end
local callable = setmetatable({}, {__call = function(_, x) bump() error("in __call " .. x) end})
print(pcall(callable, 1))
bump()
print("shared:", n)
