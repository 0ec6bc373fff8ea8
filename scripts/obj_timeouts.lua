-- Each wait that times out, in the main script: a wait returns false, a get
-- returns nil and "empty", a put returns false and "full", a barrier raises
-- and stays broken until reset.
local mp = require("mp")

local lock = mp.Lock()
lock:acquire()
print("Lock:acquire(true, 0.05)", lock:acquire(true, 0.05))
print("Lock:acquire(false)", lock:acquire(false))

local sem = mp.Semaphore(0)
print("Semaphore:acquire(true, 0.05)", sem:acquire(true, 0.05), sem:get_value())

local event = mp.Event()
print("Event:wait(0.05)", event:wait(0.05))

local cond = mp.Condition()
cond:acquire()
print("Condition:wait(0.05)", cond:wait(0.05))
print("Condition:wait_for(pred, 0.05)", cond:wait_for(function() return nil end, 0.05))
cond:release()

local q = mp.Queue(1)
print("Queue:get(true, 0.05)", q:get(true, 0.05))
print("Queue:get_nowait()", q:get_nowait())
q:put("only room for one")
print("Queue:put(v, true, 0.05)", q:put("one more", true, 0.05))
print("Queue:put_nowait(v)", q:put_nowait("one more"))

local a, b = mp.Pipe()
print("Connection:poll(0.05)", a:poll(0.05), b:poll())

local barrier = mp.Barrier(2)
local ok, err = pcall(barrier.wait, barrier, 0.05)
print("Barrier:wait(0.05)", ok, err)
print("broken until reset", barrier.broken, pcall(barrier.wait, barrier))
barrier:reset()
print("reset", barrier.broken)
