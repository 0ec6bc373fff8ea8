-- stderr: 1 item(s) put into a queue were not delivered
--
-- A child's put into an unbounded queue does not wait for the host, so a put
-- after another process closed the queue returns true; the item is dropped
-- and the child reports the loss on stderr as it ends. The main script
-- drains what came before the close, then reads closed.
local mp = require("mp")

local q, closed, report = mp.Queue(), mp.Event(), mp.Queue(1)
local other = mp.Process{target = function(q, closed, report)
  q:put("first")
  if not closed:wait(10) then os.exit(2) end
  local ok, err = pcall(q.put, q, "late")
  report:put({ok = ok, raised = not ok and err:find("Queue.put: ", 1, true) ~= nil})
end, args = {q, closed, report}}
other:start()
print("first", q:get(true, 10))
q:close()
closed:set()
local r = report:get(true, 10)
print("put after close", r and r.ok, r and r.raised)
print("joined", other:join(10), other.exitcode)
print("after", q:get(true, 1))
