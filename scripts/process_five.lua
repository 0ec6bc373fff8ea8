-- unordered
--
-- The seed's first example: five processes that each sleep a little and
-- print their index, while the main process lists its live children.
local mp = require("mp")

local function process(index)
  mp.sleep(1 + index * 0.1)
  print("Process: " .. index)
end

for i = 0, 4 do
  local p = mp.Process{target = process, args = {i}}
  p:start()
end
print("CPU number: " .. (mp.cpu_count() >= 1 and "at least one" or "none"))
local names = {}
for _, p in ipairs(mp.active_children()) do
  names[#names + 1] = p.name
end
table.sort(names)
for _, name in ipairs(names) do
  print("Child process name: " .. name)
end
print("Process Ended")
