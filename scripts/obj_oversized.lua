-- A child sends a 6 MB string every way there is (a queue item, inside a
-- table, a pipe message, a Value, a grandchild's argument) while another
-- child echoes small items; then the echo goes on. Each big send either
-- arrives whole or raises in the child, at the calling line of this file
-- with the method's name (both are right); the host serves the echo either
-- way.
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source
local BIG = 6 * 1024 * 1024
local function big() return string.rep("x", BIG - 2) .. "<>" end
local q, v, results = mp.Queue(), mp.Value(0), mp.Queue()
local a, b = mp.Pipe()
local inq, outq = mp.Queue(), mp.Queue()

local echo = mp.Process{target = function(inq, outq)
  while true do
    local x = inq:get(true, 20)
    if x == nil or x == "stop" then return end
    outq:put(x)
  end
end, args = {inq, outq}}
echo:start()

local sender = mp.Process{target = function(q, b, v, results)
  local s = big()
  local function try(name, method, f, ...)
    local ok, err = pcall(f, ...)
    results:put({name = name, ok = ok, raised = not ok and type(err) == "string"
      and err:sub(1, #FILE + 1) == FILE .. ":" and err:match("^[^:]*:%d+: ") ~= nil
      and err:find(method, 1, true) ~= nil})
  end
  try("Queue.put", "Queue.put", q.put, q, s)
  try("Queue.put table", "Queue.put", q.put, q, {s = s, n = 1})
  try("Connection.send", "Connection.send", b.send, b, s)
  try("Value.set", "Value.set", v.set, v, s)
  try("Process.start", "Process.start", function()
    local p = mp.Process{target = function(s, q) q:put(#s) end, args = {s, q}}
    p:start()
    p:join()
  end)
  results:put("done")
end, args = {q, b, v, results}}
sender:start()

local function echoes(n)
  local ok = true
  for i = 1, n do
    inq:put({i = i})
    local r = outq:get(true, 20)
    ok = ok and r ~= nil and r.i == i
  end
  return ok
end
print("echo while sending", echoes(50))

local check = {
  ["Queue.put"] = function() local s = q:get(true, 10) return s == big() end,
  ["Queue.put table"] = function() local t = q:get(true, 10) return t ~= nil and t.s == big() and t.n == 1 end,
  ["Connection.send"] = function() return a:recv() == big() end,
  ["Value.set"] = function() return v:get() == big() end,
  ["Process.start"] = function() return q:get(true, 10) == BIG end,
}
while true do
  local r = results:get(true, 30)
  if r == nil or r == "done" then print("sender done", r) break end
  if r.ok then
    print(r.name, "arrived whole or raised where it was sent", check[r.name]())
  else
    print(r.name, "arrived whole or raised where it was sent", r.raised)
  end
end
print("sender", sender:join(10), sender.exitcode)
print("echo after sending", echoes(50))
inq:put("stop")
print("echo", echo:join(10), echo.exitcode)
print("nothing left", q:qsize())
