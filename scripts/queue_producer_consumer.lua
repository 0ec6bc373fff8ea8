-- Queue: a producer process puts work items, a consumer process
-- takes them until it sees the end marker and reports back through a
-- second queue. Items from one producer arrive in the order it put them.
local mp = require("mp")

local tasks = mp.Queue()
local results = mp.Queue()

local producer = mp.Process{target = function(q)
  for i = 1, 10 do
    q:put({id = i, word = "item" .. i})
  end
  q:put("stop")
end, args = {tasks}}

local consumer = mp.Process{target = function(q, out)
  local seen = {}
  while true do
    local item = q:get()
    if item == "stop" then break end
    seen[#seen + 1] = item.id
  end
  out:put(table.concat(seen, ","))
end, args = {tasks, results}}

producer:start()
consumer:start()
print("consumer saw: " .. results:get())
producer:join()
consumer:join()
print("queue empty: " .. tostring(tasks:empty()))
