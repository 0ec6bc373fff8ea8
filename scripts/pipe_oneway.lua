-- One-way pipe: with duplex=false the first end only receives
-- and the second only sends.
local mp = require("mp")

local reader, writer = mp.Pipe(false)
local p = mp.Process{target = function(w)
  for i = 1, 3 do
    w:send("message " .. i)
  end
  w:send_bytes("raw bytes\0end")
  w:close()
end, args = {writer}}
p:start()
writer:close() -- the child holds its own: the reader sees the end when the child closes it
while true do
  local msg, status = reader:recv()
  if msg == nil then
    print("reader sees: " .. status)
    break
  end
  print((msg:gsub("%z", "\\0")))
end
p:join()
print(pcall(reader.send, reader, "x"))
