-- conn:close() closes this process's hold on the end, as closing a file
-- descriptor does: the parent closes its copy of the child's end right after
-- start (Python's idiom), and the reader still gets everything the child
-- sends, then nil, "closed" once the child has closed its own. A process
-- holds an end from the moment it is sent to it, not from its first use: the
-- parent's close cannot overtake the child. The same holds for an end sent
-- in a queue item or a pipe message, closed by its sender at once.
local mp = require("mp")

local r, w = mp.Pipe(false)
local p = mp.Process{target = function(w) for i = 1, 3 do w:send(i) end w:close() end, args = {w}}
p:start(); w:close()
while true do local v, err = r:recv(); if v == nil then print(err) break end print(v) end
p:join()

-- The child's end in a queue item; the parent closes it after the put.
local q = mp.Queue()
r, w = mp.Pipe(false)
p = mp.Process{target = function()
  local w = q:get()
  w:send("through the queue")
end}
p:start()
q:put(w); w:close()
print(r:recv())
print(r:recv())
p:join()

-- An end sent in a pipe message, closed by its sender at once: the child,
-- which ends without closing it, still holds it until then.
local r2, w2 = mp.Pipe(false)
local parent, child = mp.Pipe()
p = mp.Process{target = function(conn)
  local w = conn:recv()
  w:send("through a pipe")
  conn:close()
end, args = {child}}
p:start(); child:close()
parent:send(w2); w2:close()
print(r2:recv())
print(r2:recv())
p:join()

-- Each process holds its own: a child's close leaves the parent's open.
r, w = mp.Pipe(false)
p = mp.Process{target = function() w:close() end}
p:start(); p:join()
w:send("the parent's end is still open")
print(r:recv())
w:close()
print(r:recv())
