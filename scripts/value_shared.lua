-- A Value's number lives in memory that every process maps, as Python's
-- Value does: a child's get, set and add of a number need no call to the
-- host, and add is atomic. Anything else a Value holds (a string, a table)
-- stays in the host; a Value goes from one to the other either side.
local mp = require("mp")

local counter = mp.Value(0)
local workers = {}
for i = 1, 4 do
  workers[i] = mp.Process{target = function()
    for _ = 1, 5000 do counter:add(1) end
  end}
  workers[i]:start()
end
for _, p in ipairs(workers) do p:join() end
print("4 children x 5000 adds, no lock:", counter:get())

local v = mp.Value("text")
local q = mp.Queue()
local p = mp.Process{target = function()
  q:put({"child gets", v:get()})
  q:put({"add to text", pcall(v.add, v, 1)})
  v:set(41)
  q:put({"child adds", v:add(1)})
  v:set({1, 2, 3})
  q:put({"child gets a table of", #(v:get())})
  local maps = io.open("/proc/self/maps"):read("*a")
  q:put({"child maps the values' memory:", maps:find("mphost-values", 1, true) ~= nil})
  local mine = mp.Value(0.5)
  q:put({"a child's own Value", mine})
  mine:set(mine:get() * 4)
  q:put("done")
end}
p:start()
while true do
  local item = q:get(true, 10)
  if item == "done" or item == nil then break end
  if type(item[2]) == "userdata" then
    p:join()
    print(item[1], item[2]:get())
  else
    print(unpack(item))
  end
end
p:join()
print("main gets", #(v:get()), "items")
v:set(2.5)
print("main sets a number again:", v:get(), v:add(0.5))
print("exitcode", p.exitcode)
