-- A target that cannot cross processes is refused at start(), with the path
-- of the bad value and the line of the function that holds it.
local mp = require("mp")

local co = coroutine.create(function() end)
local p = mp.Process{target = function() return co end}
local ok, err = pcall(p.start, p)
print(ok)
print(err)
print("alive:", p:is_alive())
