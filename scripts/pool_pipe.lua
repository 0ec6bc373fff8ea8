-- Pool tasks may use pipe ends they are given: a worker sends and receives
-- on the end's socket as a process does (a 100 KB message included, which
-- the host holds), and the worker, which runs many tasks, takes the end's
-- socket once.
local mp = require("mp")

local a, b = mp.Pipe()
local pool = mp.Pool(2)
local res = pool:map_async(function(x)
  x[1]:send(x[2] * 10)
  return x[2]
end, {{b, 1}, {b, 2}, {b, 3}, {b, 4}}, 1)
local got = {}
for _ = 1, 4 do got[#got + 1] = a:recv() end
table.sort(got)
print("sent by the tasks:", table.concat(got, " "))
print("their results:", table.concat(res:get(), " "))

a:send(string.rep("q", 100000))
print("a task received:", pool:apply(function(conn, n) return #conn:recv() + n end, {b, 5}))
pool:close()
pool:join()
