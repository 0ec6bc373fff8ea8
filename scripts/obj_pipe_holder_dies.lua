-- A child that is the only holder of a pipe end is killed: the other end
-- drains what it sent, then reads closed. An end that the main script also
-- holds stays open when a child holding it dies.
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source

-- A child makes a pipe, hands one end to the main script through a queue,
-- keeps the other, sends three messages and is killed: it was the only
-- holder of its end, so the main script receives the three, then closed.
local carrier, sent = mp.Queue(), mp.Event()
local p = mp.Process{target = function(carrier, sent)
  local mine, theirs = mp.Pipe()
  carrier:put(theirs)
  for i = 1, 3 do mine:send({i = i}) end
  sent:set()
  mp.sleep(60) -- until killed
end, args = {carrier, sent}}
p:start()
local conn = carrier:get(true, 10)
print("sent", sent:wait(10))
print("before the death", conn:poll(0.05))
p:kill()
print("joined", p:join(10), p.exitcode)
for i = 1, 3 do print("drained", conn:recv().i) end
print("after", conn:recv())
print("poll at end", conn:poll(), conn:poll(0.05))
local at = FILE .. ":" .. debug.getinfo(1, "l").currentline + 1 .. ": Connection.send: "
local ok, err = pcall(conn.send, conn, "x")
print("send to the dead end", ok and "did not raise" or
  (err:sub(1, #at) == at and err:find("closed", 1, true)) and "raises" or err)

-- An end the main script also holds stays open when a child holding it
-- dies: the main script can still use it.
local a, b = mp.Pipe()
local q = mp.Process{target = function(b) b:send("from child") os.exit(0) end, args = {b}}
q:start()
print("shared end", q:join(10), q.exitcode, a:recv(), a:poll(0.05))
b:send("still open")
print("shared end after death", a:recv())
