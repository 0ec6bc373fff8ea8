-- imap keeps a bounded window of work in flight, however long its input:
-- two chunks per worker, and by default at most 256 items a chunk. A
-- consumer that takes one result of 100 000 has let the workers run 1024
-- items, not all of them (Python's imap would queue every task at once).
local mp = require("mp")

local calls = mp.Value(0)
local function square(x)
  calls:add(1)
  return x * x
end

local items = {}
for i = 1, 100000 do items[i] = i end

local pool = mp.Pool(2)
local next_result = pool:imap(square, items)
print("first result:", next_result())
-- Wait (bounded) for the workers to finish what they were given, then give
-- them time to run anything more they might have been given.
for _ = 1, 500 do
  if calls:get() >= 1024 then break end
  mp.sleep(0.01)
end
mp.sleep(0.2)
print("calls while the consumer waited:", calls:get())
local n, sum = 1, 1
for v in next_result do n, sum = n + 1, sum + v end
print("results:", n, "sum of squares:", string.format("%.0f", sum))
print("calls in all:", calls:get())
pool:close()
pool:join()
