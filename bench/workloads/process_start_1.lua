-- Start one trivial process and join it. RESULT: the mean time of one
-- start+join. process_start_1.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local function noop() end

harness.measure(function()
  local p = mp.Process{target = noop}
  p:start()
  p:join()
end)
