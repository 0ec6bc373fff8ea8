-- A target that cannot be sent is refused at start, at the calling line,
-- naming the value's path and the line of the function that holds it; the
-- refused process has no pid and nothing was started.
local mp = require("mp")
local co = coroutine.create(function() end)
local p = mp.Process{target = function() return co end}
local ok, err = pcall(p.start, p)
print(ok, p.pid, p:is_alive(), #mp.active_children())
print(err)
local q = mp.Process{target = print, args = {{cb = function() return co end}}}
ok, err = pcall(q.start, q)
print(ok, q.pid)
print(err)
