-- in a child
--
-- Every Pool method, called from the process the script runs in: the main
-- script, then a child, whose pool workers are the host's grandchildren.
-- A "raises" is a pcall that failed with an error starting with this
-- file's name and the line of the call, and holding each expected text.
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source

do
  -- raises_at reports how a pcall ended: "raises" when the error starts with
  -- this file's name and line and contains each of texts.
  local function raises_at(line, texts, ok, err)
    local prefix = FILE .. ":" .. line .. ": "
    if ok then return "did not raise" end
    if type(err) ~= "string" or err:sub(1, #prefix) ~= prefix then
      return "raised without " .. prefix .. ": " .. tostring(err)
    end
    for _, text in ipairs(texts) do
      if not err:find(text, 1, true) then return "raised without " .. text .. ": " .. err end
    end
    return "raises"
  end
  -- raises is raises_at for a pcall made on the caller's line.
  local function raises(texts, ok, err)
    return raises_at(debug.getinfo(2, "l").currentline, texts, ok, err)
  end
  -- list renders t[1] .. t[n], nils included.
  local function list(t, n)
    local parts = {}
    for i = 1, n do parts[i] = tostring(t[i]) end
    return table.concat(parts, " ")
  end
  local function range(n)
    local t = {}
    for i = 1, n do t[i] = i end
    return t
  end
  local function square(x) return x * x end
  local function odd_or_nil(x) if x % 2 == 1 then return x end end
  -- reverse sleeps longest on the first items, so they finish last.
  local function reverse(x) mp.sleep((6 - x) * 0.03) return x end
  local function fail_on_3(x)
    if x == 3 then error("three") end
    return x
  end
  -- what a task's error must hold: the worker's file:line and its traceback
  local fail_line = FILE .. ":" .. (debug.getinfo(fail_on_3, "S").linedefined + 1)
  local task_error = {fail_line .. ": three\nstack traceback:\n\t", "\n\t" .. fail_line .. ":"}
  local me = mp.current_process()

  -- the initializer runs in each worker with its initargs; the global it
  -- sets is nil here, so the mapped function does not overwrite it
  local pool = mp.Pool{processes = 3, initializer = function(tag, n) INIT_TAG = tag .. n end, initargs = {"tag", 3}}
  print("initializer", list(pool:map(function() return INIT_TAG end, range(4)), 4))

  -- three workers at once: three tasks meet at a barrier
  local barrier = mp.Barrier(3)
  local pids = pool:map(function(b) b:wait(20) return mp.current_process().pid end, {barrier, barrier, barrier}, 1)
  local distinct, n = {}, 0
  for _, pid in ipairs(pids) do
    if not distinct[pid] then n = n + 1 end
    distinct[pid] = true
  end
  print("workers", n, distinct[me.pid] == nil)
  local name, parent = pool:apply(function() return mp.current_process().name .. " " .. mp.parent_process().pid end):match("^(.*) (%d+)$")
  print("worker identity", name:match("^PoolWorker%-%d+$") ~= nil, parent == tostring(me.pid))

  -- map: in order, nils kept in place, any chunksize
  print("map", list(pool:map(square, range(10)), 10))
  for _, size in ipairs({1, 3, 100}) do
    print("map chunksize " .. size, list(pool:map(square, range(10), size), 10))
  end
  local nils = pool:map(odd_or_nil, range(7), 2)
  print("map nils", list(nils, 7), table.maxn(nils))
  print("map all nil", list(pool:map(function() end, range(3)), 3))
  print("map empty", #pool:map(square, {}))
  print("map slow first", list(pool:map(reverse, range(5), 1), 5))
  print("map tables", list(pool:map(function(t) return t.name:upper() end, {{name = "a"}, {name = "b"}}), 2))

  -- starmap
  print("starmap", list(pool:starmap(function(a, b, c) return a .. b .. tostring(c) end, {{"x", 1}, {"y", 2, true}}), 2))

  -- imap in order, imap_unordered as they finish
  local got = {}
  for v in pool:imap(reverse, range(5), 1) do got[#got + 1] = v end
  print("imap", list(got, #got))
  got = {}
  for v in pool:imap(square, range(7)) do got[#got + 1] = v end
  print("imap default chunksize", list(got, #got))
  got = {}
  for v in pool:imap_unordered(square, range(6), 2) do got[#got + 1] = v end
  table.sort(got)
  print("imap_unordered", list(got, #got))
  local count = 0
  for _ in pool:imap(square, {}) do count = count + 1 end
  for _ in pool:imap_unordered(square, {}) do count = count + 1 end
  print("imap empty", count)
  for v in pool:imap(square, range(100), 1) do if v == 4 then break end end
  print("map after a broken imap", list(pool:map(square, range(3)), 3))

  -- apply
  print("apply", pool:apply(function(a, b, c) return a + b + c end, {1, 2, 3}))
  print("apply no args", pool:apply(function(...) return select("#", ...) end))
  print("apply nil", pool:apply(function() return nil end))

  -- apply_async: get, wait, ready, successful; the callback runs here
  local seen
  local r = pool:apply_async(square, {12}, function(v) seen = {v, mp.current_process().pid == me.pid} end)
  print("apply_async wait", r:wait(20), seen and seen[1], seen and seen[2])
  print("apply_async", r:ready(), r:successful(), r:get(), r:get(0))

  -- a result not ready yet: its task waits for an event
  local ev = mp.Event()
  local slow = pool:apply_async(function(e) e:wait(20) return "late" end, {ev})
  print("not ready", slow:get(0.05))
  print("not ready", slow:wait(0.05), slow:ready())
  print("successful before ready", raises({"not ready"}, pcall(slow.successful, slow)))
  ev:set()
  print("ready", slow:get(20), slow:ready(), slow:successful())

  -- map_async: the list, nils kept in place; its callback gets the list
  local mapped
  local m = pool:map_async(odd_or_nil, range(4), 1, function(v) mapped = v end)
  print("map_async", list(m:get(20), 4), mapped ~= nil and list(mapped, 4))

  -- a task's error is raised in the caller with the worker's file:line and
  -- traceback; the async results hand it to the error_callback
  print("map error", raises({"Pool.map: ", unpack(task_error)}, pcall(pool.map, pool, fail_on_3, range(5))))
  print("apply error", raises({"Pool.apply: ", unpack(task_error)}, pcall(pool.apply, pool, fail_on_3, {3})))
  print("starmap error", raises({"Pool.starmap: ", unpack(task_error)}, pcall(pool.starmap, pool, fail_on_3, {{1}, {3}})))
  local drain_line = debug.getinfo(1, "l").currentline + 1
  local function drain(it) for _ in it do end end
  print("imap error", raises_at(drain_line, {"Pool.imap: ", unpack(task_error)}, pcall(drain, pool:imap(fail_on_3, range(5), 1))))
  print("imap_unordered error", raises_at(drain_line, {"Pool.imap_unordered: ", unpack(task_error)}, pcall(drain, pool:imap_unordered(fail_on_3, range(5)))))
  local failed
  local a = pool:apply_async(fail_on_3, {3}, nil, function(e) failed = e end)
  print("apply_async error", a:wait(20), a:ready(), a:successful(), type(failed) == "string" and failed:find(task_error[1], 1, true) ~= nil)
  print("apply_async get", raises({"Pool.apply_async: ", unpack(task_error)}, pcall(a.get, a)))
  failed = nil
  local ma = pool:map_async(fail_on_3, range(5), 1, function() failed = "callback" end, function(e) failed = e end)
  print("map_async error", ma:wait(20), ma:successful(), type(failed) == "string" and failed:find(task_error[1], 1, true) ~= nil)
  print("map_async get", raises({"Pool.map_async: ", unpack(task_error)}, pcall(ma.get, ma)))
  print("unsendable result", raises({"Pool.apply: ", "cannot send", "coroutine"}, pcall(pool.apply, pool, function() return coroutine.create(print) end)))
  print("map after errors", list(pool:map(square, range(4)), 4))

  -- mistakes
  print("chunksize 0", raises({"chunksize"}, pcall(pool.map, pool, square, range(3), 0)))
  print("items not a table", raises({"table"}, pcall(pool.map, pool, square, 5)))
  print("processes 0", raises({"processes"}, pcall(mp.Pool, 0)))
  print("join before close", raises({"Pool.join"}, pcall(pool.join, pool)))

  -- close, then join
  pool:close()
  print("map after close", raises({"closed"}, pcall(pool.map, pool, square, range(2))))
  print("apply_async after close", raises({"closed"}, pcall(pool.apply_async, pool, square, {2})))
  print("join", pcall(pool.join, pool))

  -- terminate: the running and the queued task fail, join returns
  local small = mp.Pool(1)
  local gate = mp.Event()
  local running = small:apply_async(function(e) e:wait(60) return "ran" end, {gate})
  local queued = small:apply_async(square, {3})
  small:terminate()
  print("terminated running", raises({"terminated"}, pcall(running.get, running, 20)))
  print("terminated queued", raises({"terminated"}, pcall(queued.get, queued, 20)))
  print("join after terminate", pcall(small.join, small))
  print("map after terminate", raises({"closed"}, pcall(small.map, small, square, range(2))))

  -- the default size is mp.cpu_count()
  local default = mp.Pool()
  print("default pool", list(default:map(square, range(3)), 3))
  default:close()
  default:join()
end

