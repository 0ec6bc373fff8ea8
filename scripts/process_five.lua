-- unordered
--
-- Five processes that each print their index, while the main process lists its live children. The
-- children wait for an event that the main process sets once it has listed
-- them, so all five are alive when it looks.
local mp = require("mp")

local listed = mp.Event()

local function process(index, listed)
  if not listed:wait(30) then os.exit(2) end
  print("Process: " .. index)
end

for i = 0, 4 do
  local p = mp.Process{target = process, args = {i, listed}}
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
listed:set()
print("Process Ended")
