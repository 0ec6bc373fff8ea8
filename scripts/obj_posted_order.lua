-- A child's releases of what it holds and its sets of Events do not wait
-- for the host, and its sets of a Value's number are done in shared memory;
-- they still happen in the order the child made them, before anything it
-- does after them, and before it ends.
local mp = require("mp")

local lock, rlock, sem = mp.Lock(), mp.RLock(), mp.Semaphore(1)
local cond = mp.Condition(lock)
local value, event = mp.Value(0), mp.Event()
local q = mp.Queue()

local p = mp.Process{target = function()
  lock:acquire()
  rlock:acquire()
  rlock:acquire()
  sem:acquire()
  value:set(41)
  value:set(value:get() + 1)
  rlock:release()
  rlock:release()
  sem:release()
  lock:release()
  event:set()
  -- Not held: not posted, so it raises here and now.
  q:put({pcall(lock.release, lock)})
  -- A Condition and the Lock it was made with are one lock: a release by
  -- either counts for both.
  cond:acquire()
  lock:release()
  q:put({pcall(cond.release, cond)})
  cond:with(function() q:put({"with: held", lock:locked()}) end)
  lock:acquire()
  value:set("last")
  lock:release()
end}
p:start()
event:wait()
-- Everything the child did before event:set() is done.
print("value:", value:get())
print("lock free:", rlock:acquire(false), sem:acquire(false))
rlock:release()
sem:release()
p:join()
-- The child ended right after its release: done, not abandoned.
print("after join:", value:get(), lock:acquire(false))
print("release not held:", unpack(q:get()))
print("condition's release after the lock's:", unpack(q:get()))
print(unpack(q:get()))
print("exitcode:", p.exitcode)
