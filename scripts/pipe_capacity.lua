-- A pipe holds a bounded amount of unread data per direction (64 MB by
-- default): mp.Pipe{duplex = ..., capacity = bytes} sets it. Past it a send
-- waits until the reader reads (TestPipeSendWaitsPastCapacity), so a stream
-- far larger than the capacity still arrives whole and in order, and a
-- message larger than the capacity goes once the pipe is empty: it never
-- waits forever. mp.Pipe() and mp.Pipe(false) keep working; bad options
-- raise at the call.
local mp = require("mp")

local r, w = mp.Pipe{duplex = false, capacity = 100000}
local p = mp.Process{target = function(w)
  for i = 1, 50 do w:send(i .. string.rep("x", 40000)) end
  w:send(string.rep("y", 300000)) -- three times the capacity
  w:send("last")
  w:close()
end, args = {w}}
p:start(); w:close()
local n, bytes = 0, 0
while true do
  local m = r:recv()
  if m == nil then break end
  n = n + 1
  bytes = bytes + #m
  if n <= 50 and m:match("^%d+") ~= tostring(n) then print("out of order at", n) end
end
p:join()
print("received", n, "messages,", bytes, "bytes")

-- The main script sends more than the capacity to a child that reads it.
local a, b = mp.Pipe{capacity = 50000}
p = mp.Process{target = function(b)
  local got = 0
  for _ = 1, 20 do got = got + #b:recv() end
  b:send(got)
end, args = {b}}
p:start(); b:close()
for _ = 1, 20 do a:send(string.rep("z", 40000)) end
print("the child received", a:recv(), "bytes")
p:join()

local x, y = mp.Pipe(false)
y:send("one way")
print(x:recv())
x, y = mp.Pipe()
x:send("both ways"); y:send("back")
print(y:recv(), x:recv())
print(pcall(mp.Pipe, {capacity = 0}))
print(pcall(mp.Pipe, {capacity = "big"}))
print(pcall(mp.Pipe, {duplex = 1}))
print(pcall(mp.Pipe, {size = 10}))
