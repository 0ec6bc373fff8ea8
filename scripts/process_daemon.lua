-- unordered
--
-- Daemon example: daemonic children are terminated when the main
-- process ends; join(timeout) returns false while a child still runs.
local mp = require("mp")

local MyProcess = mp.Process:extend()

function MyProcess:init(loop)
  mp.Process.init(self)
  self.loop = loop
end

function MyProcess:run()
  print(self.name .. " started")
  for _ = 1, self.loop do
    mp.sleep(10)
    print("never printed: the daemon is terminated first")
  end
end

local processes = {}
for i = 2, 4 do
  local p = MyProcess(i)
  p.daemon = true
  processes[#processes + 1] = p
  p:start()
end
for _, p in ipairs(processes) do
  print(p.name .. " finished within 0.2s: " .. tostring(p:join(0.2)))
end
print("Main Process ended")
