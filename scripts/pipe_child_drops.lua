-- in a child
--
-- A process that only receives (a loop of gets) still lets go of the pipe
-- ends it dropped: after a collection, its next call, a get too, reports
-- them, and it closes its sockets of them. 200 ends used and dropped leave
-- its open files where they were after the first.
local mp = require("mp")

local n = 200
local q, done, tick = mp.Queue(), mp.Queue(), mp.Value("i", 0)
local function files()
  local f = io.popen("ls /proc/" .. mp.current_process().pid .. "/fd | wc -l")
  local count = tonumber(f:read("*a"))
  f:close()
  return count
end
local p = mp.Process{target = function(q, done, tick)
  local first
  for i = 1, n do
    local e = q:get()
    assert(e:recv() == i)
    e = nil
    collectgarbage("collect")
    tick:get() -- a receive: it reports what the collection dropped
    first = first or files()
  end
  local last = files()
  done:put(last - first <= 5 or string.format("%d open files after the first end, %d after %d", first, last, n))
end, args = {q, done, tick}}
p:start()
for i = 1, n do
  local a, b = mp.Pipe()
  b:send(i)
  q:put(a)
end
print("the receiver's open files stay flat", done:get(true, 120))
p:join()
