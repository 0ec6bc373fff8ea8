-- in a child
-- Locks live in memory that every process maps: a process that waits for
-- one sleeps in the kernel. A holder killed (SIGKILL) while it sleeps there,
-- waiting for a second lock, gives its lock back ("abandoned" to the next
-- acquirer) and leaves the second lock's sleepers counted right: a later
-- waiter is still woken by a release. A timed acquire, in the main script
-- and in a child, runs out while another process holds the lock.
local mp = require("mp")

local held, wanted = mp.Lock(), mp.RLock()
local holding = mp.Event()
wanted:acquire()

local holder = mp.Process{target = function(held, wanted, holding)
  held:acquire()
  holding:set()
  wanted:acquire() -- sleeps until killed
end, args = {held, wanted, holding}}
holder:start()
print("holding", holding:wait(10))
print("main times out on the held lock", held:acquire(true, 0.1))
holder:kill()
print("holder", holder:join(10), holder.exitcode)
print("main gets the lock", held:acquire(true, 10))
print("then it is no longer abandoned", pcall(held.release, held), held:acquire(true, 10))

local report, go_on = mp.Queue(), mp.Event()
local waiter = mp.Process{target = function(held, wanted, report, go_on)
  report:put({"waiter times out on the held lock", held:acquire(true, 0.1)})
  go_on:wait(10)
  report:put({"waiter gets the rlock", wanted:acquire(true, 10)})
  report:put({"and it is its own", wanted:acquire(false)})
  wanted:release()
  wanted:release()
end, args = {held, wanted, report, go_on}}
waiter:start()
print(unpack(report:get(true, 10)))
held:release()
go_on:set()
wanted:release()
print(unpack(report:get(true, 10)))
print(unpack(report:get(true, 10)))
print("waiter", waiter:join(10), waiter.exitcode)
print("main gets the rlock", wanted:acquire(true, 10))
print("locked", wanted:locked(), held:locked())
