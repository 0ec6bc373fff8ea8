-- Wrong arguments to a pool raise at the calling line, naming the method,
-- before anything reaches a worker; so does a call on a closed pool, even
-- with nothing to do.
local mp = require("mp")

local function try(what, f, ...)
  local ok, err = pcall(f, ...)
  print(what .. ":", ok, err)
end

try("processes 0", mp.Pool, 0)
try("processes 1.5", mp.Pool, 1.5)
try("processes a string", mp.Pool, {processes = "2"})
try("a misspelled option", mp.Pool, {process = 2})
try("maxtasksperchild 0", mp.Pool, {maxtasksperchild = 0})
try("task_timeout -1", mp.Pool, {task_timeout = -1})
try("task_timeout a string", mp.Pool, {task_timeout = "1"})
try("memory_limit not a size", mp.Pool, {memory_limit = "lots"})
try("initializer a number", mp.Pool, {initializer = 5})
try("initargs a string", mp.Pool, {initializer = print, initargs = "x"})
try("progress a number", mp.Pool, {progress = 1})

local pool = mp.Pool(1)
local function id(x) return x end
try("map of a number", function() return pool:map(42, {1}) end)
try("map of nil", function() return pool:map(nil, {1}) end)
try("apply of a string", function() return pool:apply("print", {}) end)
try("imap of a table", function() return pool:imap({}, {1}) end)
try("chunksize 0", function() return pool:map(id, {1}, 0) end)
try("chunksize 2.5", function() return pool:map(id, {1}, 2.5) end)
try("chunksize a string", function() return pool:map(id, {1}, "2") end)
try("map of a string", function() return pool:map(id, "x") end)
try("imap of a number", function() return pool:imap(id, 5) end)
try("starmap of a non-table arglist", function() return pool:starmap(id, {{1}, 2}) end)
try("apply of a number", function() return pool:apply(id, 5) end)
try("apply_async callback a number", function() return pool:apply_async(id, {}, 5) end)
try("apply_async error_callback a string", function() return pool:apply_async(id, {}, nil, "x") end)
try("map_async callback a string", function() return pool:map_async(id, {1}, nil, "x") end)
try("map_async error_callback a table", function() return pool:map_async(id, {1}, nil, print, {}) end)
-- None of them left a task or a callback behind: the next calls are clean.
print("apply after them:", pool:apply(id, {7}))
-- A table with __call is callable, as in a Process's target.
local callable = setmetatable({}, {__call = function(_, x) return x * 10 end})
print("a callable table:", table.concat(pool:map(callable, {1, 2}), " "))
pool:close()
try("map after close", function() return pool:map(id, {1}) end)
try("map of nothing after close", function() return pool:map(id, {}) end)
try("imap after close", function() return pool:imap(id, {1}) end)
try("apply_async after close", function() return pool:apply_async(id, {1}) end)
pool:join()
