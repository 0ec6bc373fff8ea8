-- in a child
-- Semaphores live in the memory every process maps, as locks do. A holder
-- of two permits killed (SIGKILL) while it sleeps there, waiting for a
-- third, gives its two back, each "abandoned" to its next taker; a bounded
-- semaphore refuses, in a child too, a release above its value; a timed
-- acquire runs out while other processes hold every permit; a permit
-- released by one process wakes a sleeper in another.
local mp = require("mp")

local sem, bounded = mp.Semaphore(2), mp.BoundedSemaphore(1)
local holding = mp.Event()

local holder = mp.Process{target = function(sem, holding)
  sem:acquire()
  sem:acquire()
  holding:set()
  sem:acquire() -- sleeps until killed
end, args = {sem, holding}}
holder:start()
print("holding", holding:wait(10))
print("main times out", sem:acquire(true, 0.1), sem:get_value())
holder:kill()
print("holder", holder:join(10), holder.exitcode)
print("permits back", sem:get_value())
print("first", sem:acquire(true, 10))
print("second", sem:acquire(true, 10))
print("no third", sem:acquire(true, 0.05))

local report = mp.Queue()
local other = mp.Process{target = function(sem, bounded, report)
  report:put({"child times out", sem:acquire(true, 0.1)})
  report:put({"child over the bound", pcall(bounded.release, bounded)})
  report:put({"child takes the bounded one", bounded:acquire(false)})
  report:put({"child sleeps for a permit", sem:acquire(true, 10)})
  bounded:release()
  sem:release()
end, args = {sem, bounded, report}}
other:start()
print(unpack(report:get(true, 10)))
local function message(err) return (tostring(err):gsub("^.-release: ", "")) end
local _, ok, err = unpack(report:get(true, 10))
print("child over the bound", ok, message(err))
print(unpack(report:get(true, 10)))
sem:release() -- wakes the child's acquire, or lets it take at once
print(unpack(report:get(true, 10)))
print("child", other:join(10), other.exitcode)
print("values", sem:get_value(), bounded:get_value())
ok, err = pcall(bounded.release, bounded)
print("main over the bound", ok, message(err))
