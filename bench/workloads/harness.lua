-- harness.lua: how every Lua workload is timed; harness.py is its twin and
-- the two must stay alike.
--
-- measure(op) runs op once to warm up, then REPS more times (REPS is the
-- script's first argument), and prints one line: "RESULT <mean seconds per
-- op> s". The clock starts after the interpreter and the script are loaded,
-- so neither start-up counts.
local mp = require("mp")

local M = {}

-- checkClock fails the run unless os.clock is a wall clock. gopher-lua's
-- os.clock is the monotonic time since the interpreter started, not CPU time
-- as in C Lua; a CPU clock would miss all the time the host spends waiting
-- for its children, so a change there must not pass unnoticed.
local function checkClock()
  local t0 = os.clock()
  mp.sleep(0.02)
  local slept = os.clock() - t0
  if slept < 0.015 then
    error(string.format("os.clock advanced %.4fs during mp.sleep(0.02): it is not a wall clock", slept), 2)
  end
end

function M.measure(op)
  local reps = tonumber(arg[1])
  if not reps or reps < 1 then
    error("usage: mphost run WORKLOAD.lua REPS", 2)
  end
  checkClock()
  op()
  local t0 = os.clock()
  for _ = 1, reps do
    op()
  end
  print(string.format("RESULT %.6e s", (os.clock() - t0) / reps))
end

return M
