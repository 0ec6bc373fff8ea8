-- in a child
--
-- An unbounded queue after close: put raises with the calling line, in the
-- process that closed it, whether that is the main script or a child (whose
-- puts into an unbounded queue do not wait for the host); get drains what
-- is left, then says closed.
local mp = require("mp")

local q = mp.Queue()
q:put("before") -- a child learns here that the queue is unbounded
q:close()
local line = debug.getinfo(1, "l").currentline + 1
local ok, err = pcall(q.put, q, "after")
print("put after close", ok, ok or err:find(debug.getinfo(1, "S").source .. ":" .. line .. ": Queue.put: ", 1, true) == 1)
print("get", q:get(true, 1))
print("get", q:get(true, 1))
