-- A child puts 100 000 small ints into a Queue, the parent gets them all,
-- then joins the child. RESULT: the mean time of one whole transfer (the
-- child's start included); the warm-up moves 1000 items. queue_ints.py is the
-- same in Python.
local mp = require("mp")
local harness = require("harness")

local N = 100000

local function producer(q, n)
  for i = 1, n do
    q:put(i)
  end
end

local function transfer(n)
  local q = mp.Queue()
  local p = mp.Process{target = producer, args = {q, n}}
  p:start()
  for i = 1, n do
    local v = q:get()
    if v ~= i then
      error(string.format("item %d is %s", i, tostring(v)))
    end
  end
  p:join()
  q:close()
end

harness.measure(function() transfer(N) end, function() transfer(1000) end)
