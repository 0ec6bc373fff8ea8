-- What a pool does when its workers fail: a worker that calls os.exit, or is
-- killed with SIGKILL, fails only the task it was running, with an error
-- naming it, its pid and how it ended, and a replacement takes the rest; a
-- task that overruns task_timeout fails and its worker is replaced;
-- maxtasksperchild retires workers; terminate fails what is left at once.
-- task_timeout bounds a task, which for a map is a chunk of items (as in
-- Python, where map's chunks are its tasks): the error says so.
local mp = require("mp")

-- The error's text without the worker's number and pid, which vary.
local function plain(err)
  return (tostring(err):gsub("PoolWorker%-%d+ %(pid %d+%)", "PoolWorker-N (pid P)"))
end

local function job(x)
  if x == 3 then os.exit(3) end
  if x == 5 then os.execute("kill -9 " .. mp.current_process().pid) end
  return x * 10
end

local pool = mp.Pool(2)
local rs = {}
for i = 1, 6 do rs[i] = pool:apply_async(job, {i}) end
for i = 1, 6 do
  local ok, v = pcall(rs[i].get, rs[i])
  print(i, ok, plain(v))
end
print("the pool goes on:", table.concat(pool:map(job, {1, 2, 4}), " "))
pool:close()
pool:join()

-- task_timeout: an endless loop is stopped, its worker killed and replaced.
pool = mp.Pool{processes = 1, task_timeout = 0.5}
local ok, err = pcall(pool.apply, pool, function() while true do end end, {})
print("endless task:", ok, plain(err))
print("next task:", pool:apply(function(a, b) return a + b end, {2, 3}))
-- task_timeout bounds a task: for a map, a chunk of items.
ok, err = pcall(pool.map, pool, function(x) mp.sleep(0.3) return x end, {1, 2, 3, 4}, 2)
print("chunks of 2 slow items:", ok, plain(err))
pool:close()
pool:join()

-- maxtasksperchild: a worker runs 2 tasks, then a new one takes over.
pool = mp.Pool{processes = 1, maxtasksperchild = 2}
local names = pool:map(function() return mp.current_process().name end, {1, 2, 3, 4, 5, 6}, 1)
local runs = {}
for _, name in ipairs(names) do runs[name] = (runs[name] or 0) + 1 end
local counts = {}
for _, n in pairs(runs) do counts[#counts + 1] = n end
print("6 tasks, maxtasksperchild 2: workers ran", table.concat(counts, " "))
pool:close()
pool:join()

-- terminate: the running and the pending tasks fail at once.
pool = mp.Pool(1)
local started = mp.Event()
local long = pool:apply_async(function(ev) ev:set() mp.sleep(60) end, {started})
local queued = pool:apply_async(function() return "never" end, {})
started:wait(10)
pool:terminate()
print("running task:", pcall(long.get, long))
print("pending task:", pcall(queued.get, queued))
pool:join()
print("joined")
