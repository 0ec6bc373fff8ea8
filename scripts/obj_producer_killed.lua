-- A producer killed in the middle of its puts leaves the queue whole: into
-- an unbounded queue while it puts as fast as it can, and into a full queue
-- of 10 while it waits in its 16th put. Every item is either in the queue,
-- whole and in order, or not.
local mp = require("mp")

-- produce puts numbered tables as fast as it can, until killed.
local function produce(q)
  for i = 1, 1e9 do
    q:put({i = i, sq = i * i, s = string.rep(tostring(i % 10), 100 + i % 50), nested = {i = i, tail = "end"}})
  end
end

-- whole reports whether item is the i-th item, complete.
local function whole(item, i)
  return type(item) == "table" and item.i == i and item.sq == i * i
    and item.s == string.rep(tostring(i % 10), 100 + i % 50)
    and type(item.nested) == "table" and item.nested.i == i and item.nested.tail == "end"
end

-- An unbounded queue, then one of 10 items, which the producer fills and
-- waits on (it is killed in the middle of a put that cannot finish).
for _, maxsize in ipairs({0, 10}) do
  local q = mp.Queue(maxsize)
  local p = mp.Process{target = produce, args = {q}}
  p:start()
  local n, ok = 0, true
  for _ = 1, 5 do
    n = n + 1
    ok = whole(q:get(true, 10), n) and ok
  end
  if maxsize > 0 then
    local full = false
    for _ = 1, 1000 do
      full = q:full()
      if full then break end
      mp.sleep(0.01)
    end
    print(maxsize, "full before the kill", full)
  end
  p:kill()
  print(maxsize, "killed", p:join(10), p.exitcode)
  local size = q:qsize()
  while true do
    local item, status = q:get_nowait()
    if item == nil then
      print(maxsize, "then", status)
      break
    end
    n = n + 1
    if not whole(item, n) then
      ok = false
      print(maxsize, "item " .. n .. " is not whole or out of order:", type(item) == "table" and item.i or tostring(item))
      break
    end
  end
  print(maxsize, "whole, in order, no gaps", ok)
  if maxsize > 0 then print(maxsize, "items left after the kill", size, n) end
end
