-- A child's send, Event set and Lock release are done when they return, as
-- in Python, though the child does not wait for the host to run them: a
-- Value it sets after them (in memory shared with every process, no call)
-- is never seen before them.
local mp = require("mp")

-- until waits for cond(), failing after 10 s rather than hang.
local function until_(cond, what)
  local deadline = os.clock() + 10
  while not cond() do
    if os.clock() > deadline then error("timed out waiting for " .. what) end
  end
end

local lock = mp.Lock()
local missed = {event = 0, lock = 0, message = 0}
local trials = 50
for _ = 1, trials do
  local v, e = mp.Value(0), mp.Event()
  local a, b = mp.Pipe()
  local p = mp.Process{target = function()
    lock:acquire()
    b:send("x") -- waits: the end's next sends are posted
    v:set(0.5)
    until_(function() return v:get() == 0.75 end, "the main script")
    b:send("y") -- posted
    e:set() -- posted
    lock:release() -- posted
    v:set(1) -- in memory, after all three
  end}
  p:start()
  until_(function() return v:get() == 0.5 end, "the child")
  a:recv()
  v:set(0.75)
  until_(function() return v:get() == 1 end, "the child's last set")
  if not e:is_set() then missed.event = missed.event + 1 end
  if lock:acquire(false) then lock:release() else missed.lock = missed.lock + 1 end
  if not a:poll(0) then missed.message = missed.message + 1 end
  p:join()
end
print(trials .. " trials; seen before the Value's set:")
print("  the Event not set", missed.event)
print("  the Lock still held", missed.lock)
print("  the message not there", missed.message)
