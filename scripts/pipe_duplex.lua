-- Duplex pipe: both ends send and receive.
local mp = require("mp")

local parent_end, child_end = mp.Pipe()
local p = mp.Process{target = function(conn)
  conn:send({greeting = "hello from the child"})
  local reply = conn:recv()
  conn:send("the child got: " .. reply)
  conn:close()
end, args = {child_end}}
p:start()
child_end:close() -- the child holds its own: its close ends the pipe
print(parent_end:recv().greeting)
parent_end:send("hello from the parent")
print(parent_end:recv())
p:join()
print(parent_end:recv())
