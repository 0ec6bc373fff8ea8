-- A process that dies holding a Lock, an RLock (twice) and Semaphore permits
-- gives them back: the first acquire of each afterwards says "abandoned"
-- (once per permit), the next ones do not. The holder is killed with
-- SIGKILL while another process waits for the lock.
local mp = require("mp")

local lock, rlock, sem = mp.Lock(), mp.RLock(), mp.Semaphore(2)
local holding = mp.Event()

local holder = mp.Process{target = function(lock, rlock, sem, holding)
  lock:acquire()
  rlock:acquire()
  rlock:acquire()
  sem:acquire()
  sem:acquire()
  holding:set()
  mp.sleep(60) -- until killed
end, args = {lock, rlock, sem, holding}}
holder:start()
print("holding", holding:wait(10))

local report = mp.Queue()
local waiter = mp.Process{target = function(lock, report)
  report:put({"waiter tries", lock:acquire(false)})
  report:put({"waiter gets", lock:acquire(true, 10)})
  lock:release()
end, args = {lock, report}}
waiter:start()
print(unpack(report:get(true, 10)))
holder:kill()
print("holder", holder:join(10), holder.exitcode)
print(unpack(report:get(true, 10)))
print("waiter", waiter:join(10), waiter.exitcode)

print("main gets the lock", lock:acquire(true, 5))
lock:release()
print("main gets the rlock", rlock:acquire(true, 5))
print("one release frees it", pcall(rlock.release, rlock), rlock:locked())
print("main gets the rlock again", rlock:acquire(true, 5))
rlock:release()
print("permits back", sem:get_value())
print("first permit", sem:acquire(true, 5))
print("second permit", sem:acquire(true, 5))
print("no third", sem:acquire(true, 0.05))
sem:release()
sem:release()
print("a permit again", sem:acquire(true, 5))
