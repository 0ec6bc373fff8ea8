-- A party killed while it waits at a barrier breaks it: first with another
-- child waiting beside it, then with the main script waiting beside it.
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source

-- raises tells whether a pcall failed with an error that starts with
-- FILE:LINE: Barrier.wait: and names the broken barrier.
local function raises(line, ok, err)
  if ok then return "did not raise" end
  local prefix = FILE .. ":" .. line .. ": Barrier.wait: "
  if type(err) == "string" and err:sub(1, #prefix) == prefix and err:find("barrier is broken", 1, true) then
    return "raises"
  end
  return "raised " .. tostring(err)
end

-- wait_until polls a cheap state of the host, for at most 10 s: a party
-- gives no other sign that it has reached the barrier's wait.
local function wait_until(f)
  for _ = 1, 1000 do
    if f() then return true end
    mp.sleep(0.01)
  end
  return false
end

-- A party killed while it waits at a barrier breaks it: the other waiter
-- gets an error, then every later wait until reset.
local b = mp.Barrier(3)
local report = mp.Queue()
local doomed = mp.Process{target = function(b) b:wait() end, args = {b}}
doomed:start()
print("first party waits", wait_until(function() return b.n_waiting == 1 end))
local other = mp.Process{target = function(b, report)
  report:put(raises(debug.getinfo(1, "l").currentline, pcall(b.wait, b)))
end, args = {b, report}}
other:start()
print("second party waits", wait_until(function() return b.n_waiting == 2 end))
doomed:kill()
print("other waiter", report:get(true, 10))
print("joined", doomed:join(10), doomed.exitcode, other:join(10), other.exitcode)
print("broken", b.broken, b.n_waiting, raises(debug.getinfo(1, "l").currentline, pcall(b.wait, b, 5)))
b:reset()
print("reset", b.broken, b.n_waiting)

-- The same with the main script as the other waiter: a child starts the
-- party, waits until the main script waits too, and kills the party.
local b2 = mp.Barrier(3)
local killer = mp.Process{target = function(b2)
  local party = mp.Process{target = function(b2) b2:wait() end, args = {b2}}
  party:start()
  if not wait_until(function() return b2.n_waiting == 2 end) then os.exit(2) end
  party:kill()
  party:join()
  os.exit(party.exitcode == -9 and 0 or 3)
end, args = {b2}}
killer:start()
print("main waiter", raises(debug.getinfo(1, "l").currentline, pcall(b2.wait, b2, 20)))
print("killer", killer:join(10), killer.exitcode, b2.broken)
