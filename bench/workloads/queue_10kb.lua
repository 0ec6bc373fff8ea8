-- A child puts 10 000 strings of 10 KB into a Queue, the parent gets them
-- all, then joins the child. RESULT: the mean time of one whole transfer (the
-- child's start included); the warm-up moves 1000 items. queue_10kb.py is the
-- same in Python.
local mp = require("mp")
local harness = require("harness")

local N, SIZE = 10000, 10240

local function producer(q, n, size)
  local item = string.rep("x", size)
  for _ = 1, n do
    q:put(item)
  end
end

local function transfer(n)
  local q = mp.Queue()
  local p = mp.Process{target = producer, args = {q, n, SIZE}}
  p:start()
  for i = 1, n do
    local v = q:get()
    if #v ~= SIZE then
      error(string.format("item %d has %d bytes", i, #v))
    end
  end
  p:join()
  q:close()
end

harness.measure(function() transfer(N) end, function() transfer(1000) end)
