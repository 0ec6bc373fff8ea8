-- Create a Pool of 2 and wait until it is ready: the first apply of a trivial
-- task has returned. RESULT: the mean time from creation to ready; closing
-- and joining the pool comes after the clock stops. pool_create.py is the
-- same in Python.
local mp = require("mp")
local harness = require("harness")

local function one()
  return 1
end

harness.measure(function()
  local pool = mp.Pool(2)
  if pool:apply(one) ~= 1 then error("apply(one) did not return 1") end
  return function()
    pool:close()
    pool:join()
  end
end)
