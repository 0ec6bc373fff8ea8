-- A pipe's send waits only when the pipe holds more than its capacity (64 MB
-- unread by default; scripts/pipe_capacity.lua): what its socket cannot take
-- waits in the host, in order. Python's send blocks once the OS pipe is full
-- (about 64 KB), so each of these deadlocks there, and passes here: joining a
-- sender before reading what it sent, and two processes that both send a lot
-- before they read.
local mp = require("mp")

-- message returns the i-th message of sender: mostly small tables, every
-- 7th a 10 KB string, every 250th a 100 KB string (larger than the socket
-- takes in one message).
local function message(sender, i)
  if i % 250 == 0 then return sender .. ":" .. string.rep("L", 100000) .. i end
  if i % 7 == 0 then return sender .. ":" .. string.rep("m", 10000) .. i end
  return {from = sender, i = i}
end

-- check receives n messages of sender from conn and says whether all came,
-- whole and in order.
local function check(conn, sender, n)
  for i = 1, n do
    local got, want = conn:recv(), message(sender, i)
    local same = got == want
    if type(want) == "table" then
      same = type(got) == "table" and got.from == want.from and got.i == want.i
    end
    if not same then
      return string.format("message %d of %s: got %s", i, sender, tostring(got):sub(1, 20))
    end
  end
  return "all " .. n .. " in order"
end

local N = 2000

-- A child sends N messages and ends; the main script joins it, then reads.
local mine, theirs = mp.Pipe()
local p = mp.Process{target = function(conn)
  for i = 1, N do conn:send(message("child", i)) end
end, args = {theirs}}
p:start()
print("joined the sender first:", p:join(30), p.exitcode)
print("received:", check(mine, "child", N))
print("then nothing waits:", mine:poll(0.05))

-- The main script sends N messages before the child reads any.
local go = mp.Event()
local report = mp.Queue()
p = mp.Process{target = function(conn)
  go:wait()
  report:put(check(conn, "main", N))
end, args = {theirs}}
p:start()
for i = 1, N do mine:send(message("main", i)) end
go:set()
print("the child received:", report:get(true, 30))
p:join()

-- Both ends send 300 messages of 10 KB and more before either reads.
p = mp.Process{target = function(conn)
  for i = 1, 300 do conn:send(message("child", i)) end
  report:put(check(conn, "main", 300))
end, args = {theirs}}
p:start()
for i = 1, 300 do mine:send(message("main", i)) end
print("both sent first; main received:", check(mine, "child", 300))
print("and the child:", report:get(true, 30))
p:join()

-- Two children send on the same end at once: each one's messages arrive in
-- its order.
local a, b = mp.Pipe(false)
local senders = {}
for _, name in ipairs({"first", "second"}) do
  senders[name] = mp.Process{target = function(conn)
    for i = 1, 1000 do conn:send(message(name, i)) end
  end, args = {b}}
  senders[name]:start()
end
local next = {first = 1, second = 1}
local wrong = 0
for _ = 1, 2000 do
  local got = a:recv()
  local name = type(got) == "table" and got.from or got:match("^(%l+):")
  local want = message(name, next[name])
  if (type(want) == "table" and got.i ~= want.i) or (type(want) == "string" and got ~= want) then
    wrong = wrong + 1
  end
  next[name] = next[name] + 1
end
for _, s in pairs(senders) do s:join() end
print("two senders, one end:", next.first - 1, next.second - 1, "out of order:", wrong)
b:close()
print("after the close:", a:recv())
