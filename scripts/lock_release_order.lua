-- A child's puts into an unbounded queue are batched, and its Event sets
-- posted, not waited for; its release of a lock, done in the memory every
-- process maps, still comes after them: the process that takes the lock
-- next finds every item in the queue and the event set. Rounds repeat it,
-- the lock passing from the child to the main script and back.
local mp = require("mp")

local lock, q, mine, theirs = mp.Lock(), mp.Queue(), mp.Event(), mp.Event()
local ROUNDS, ITEMS = 20, 50

local p = mp.Process{target = function(lock, q, mine, theirs)
  for round = 1, ROUNDS do
    theirs:wait(10)
    theirs:clear()
    lock:acquire()
    mine:set() -- the main script may try the lock from here on
    for i = 1, ITEMS do q:put(round * 1000 + i) end
    lock:release()
  end
end, args = {lock, q, mine, theirs}}
p:start()

local seen = {}
for round = 1, ROUNDS do
  theirs:set()
  mine:wait(10)
  mine:clear()
  lock:acquire()
  seen[#seen + 1] = q:qsize()
  for _ = 1, ITEMS do q:get(true, 10) end
  lock:release()
end
print("items found at each acquire", table.concat(seen, " "))
print("child", p:join(10), p.exitcode)
