-- unordered
--
-- A Process subclass: a class made with mp.Process:extend() whose
-- run method does the work; self.pid inside run is the child's own pid.
local mp = require("mp")

local MyProcess = mp.Process:extend()

function MyProcess:init(loop)
  mp.Process.init(self)
  self.loop = loop
end

function MyProcess:run()
  for count = 0, self.loop - 1 do
    mp.sleep(0.01)
    local own = self.pid == mp.current_process().pid
    print(string.format("Name: %s, own pid: %s, LoopCount: %d", self.name, tostring(own), count))
  end
end

for i = 2, 4 do
  local p = MyProcess(i)
  p:start()
end
