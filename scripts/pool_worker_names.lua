-- in a child
--
-- A pool's workers are named PoolWorker-N, run in processes of their own,
-- and are the children of the process that made the pool: the main script,
-- or a child (then they are the host's grandchildren).
local mp = require("mp")

local function describe()
  local me, parent = mp.current_process(), mp.parent_process()
  return {name = me.name, pid = me.pid, parent = parent.name, parent_pid = parent.pid}
end

local pool = mp.Pool(2)
local me = mp.current_process()
for i, d in ipairs(pool:map(describe, {1, 2, 3, 4}, 1)) do
  print(i, d.name:match("^PoolWorker%-%d+$") ~= nil, d.pid ~= me.pid, d.parent == me.name, d.parent_pid == me.pid)
end
pool:close()
pool:join()
