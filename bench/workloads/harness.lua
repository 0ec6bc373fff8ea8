-- harness.lua: how every Lua workload is timed; harness.py is its twin and
-- the two must stay alike.
--
-- measure(op [, warmup]) runs op once to warm up, then REPS more times (REPS
-- is the script's first argument), and prints one line: "RESULT <mean seconds
-- per op> s". The clock starts after the interpreter and the script are
-- loaded, so neither start-up counts.
--
-- warmup, when given, runs instead of op for the warm-up: a small version of
-- a long op that pays the same first-use costs (a pool's workers getting the
-- function, say). When op returns a function, that function runs after the
-- clock has stopped for that op: an untimed cleanup (closing and joining the
-- pool that op created and timed until ready, say).
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

local function cleanup(f)
  if type(f) == "function" then f() end
end

function M.measure(op, warmup)
  local reps = tonumber(arg[1])
  if not reps or reps < 1 then
    error("usage: mphost run WORKLOAD.lua REPS", 2)
  end
  checkClock()
  cleanup((warmup or op)())
  local total = 0
  for _ = 1, reps do
    local t0 = os.clock()
    local after = op()
    total = total + (os.clock() - t0)
    cleanup(after)
  end
  print(string.format("RESULT %.6e s", total / reps))
end

return M
