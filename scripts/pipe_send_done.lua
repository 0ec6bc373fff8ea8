-- A send that has returned is done, wherever the message went (into the
-- pipe's socket, or through the host when it is over 32 KB): whoever learns
-- that it returned finds the message there. A send to a closed pipe raises at
-- once, in a child as in the main script. And a process that serves many
-- pipes, which others close, does not keep their sockets open.
local mp = require("mp")

local big = string.rep("x", 40000)

-- In one process: the message is there as soon as send returns.
local a, b = mp.Pipe()
local missed = 0
for _ = 1, 500 do
  b:send(big)
  if not a:poll() then missed = missed + 1 end
  a:recv()
end
print("sent 500 large messages, poll missed one:", missed)

-- Across processes: a child sends, then says so through a queue.
local said = mp.Queue()
local p = mp.Process{target = function()
  for i = 1, 200 do
    a:send(i % 2 == 0 and big or i)
    said:put(i)
    said:put("next") -- waits for the main script's turn
  end
end}
p:start()
missed = 0
for _ = 1, 200 do
  said:get()
  if not b:poll(0) then missed = missed + 1 end
  b:recv()
  said:get()
end
p:join()
print("child to main, poll missed one:", missed)

-- The other way.
local go, back = mp.Queue(), mp.Queue()
p = mp.Process{target = function()
  local m = 0
  for _ = 1, 200 do
    go:get()
    if not a:poll(0) then m = m + 1 end
    a:recv()
    back:put(true)
  end
  back:put(m)
end}
p:start()
for i = 1, 200 do
  b:send(i % 2 == 0 and big or i)
  go:put(i)
  back:get()
end
print("main to child, poll missed one:", back:get())
p:join()

-- A send on an end whose other end another process has closed raises at
-- once.
local ready, closed = mp.Event(), mp.Event()
p = mp.Process{target = function()
  a:poll() -- the child uses the end's socket
  ready:set()
  closed:wait()
  print("child sends on the closed end:", pcall(a.send, a, "x"))
  print("and again:", pcall(a.send, a, big))
end}
p:start()
ready:wait(10)
b:close()
closed:set()
p:join()
print("main sends on it:", pcall(a.send, a, "x"))
print("the child's exit code:", p.exitcode)

-- A child answers on 300 pipes, each closed by the main script after (the
-- child holds its end, never closed): its open files do not grow with them.
local jobs, done = mp.Queue(), mp.Queue()
p = mp.Process{target = function()
  while true do
    local conn = jobs:get()
    if conn == "stop" then return end
    conn:send("pong")
    done:put(true)
  end
end}
p:start()
local function childFiles()
  local ls = io.popen("ls /proc/" .. p.pid .. "/fd | wc -l")
  local n = ls:read("*n")
  ls:close()
  return n
end
local first
for i = 1, 300 do
  local x, y = mp.Pipe()
  jobs:put(y)
  assert(x:recv() == "pong")
  done:get()
  x:close()
  y:close()
  if i == 10 then first = childFiles() end
end
local grew = childFiles() - first
jobs:put("stop")
p:join()
print("the child's open files grew by more than 5 over 290 pipes:", grew > 5)
