-- Start 50 trivial processes, then join them all. RESULT: the mean time of
-- one batch. process_start_50.py is the same in Python.
local mp = require("mp")
local harness = require("harness")

local function noop() end

harness.measure(function()
  local procs = {}
  for i = 1, 50 do
    procs[i] = mp.Process{target = noop}
    procs[i]:start()
  end
  for _, p in ipairs(procs) do
    p:join()
  end
end)
