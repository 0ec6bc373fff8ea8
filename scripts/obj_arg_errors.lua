-- in a child
--
-- A wrong argument to a method of a shared object raises before the call
-- leaves the process, naming the method called and the parameter as the
-- API reference declares it; in the main script and in a child alike.
local mp = require("mp")

local function wrong()
  local out = {}
  local function try(name, f, ...)
    local ok, err = pcall(f, ...)
    out[#out + 1] = name .. ": " .. (ok and "no error" or tostring(err))
  end
  local co = coroutine.create(function() end)
  local l = mp.Lock()
  try("acquire block", l.acquire, l, "yes")
  try("acquire timeout", l.acquire, l, true, {})
  local s = mp.BoundedSemaphore()
  try("semaphore acquire block", s.acquire, s, 1)
  local e = mp.Event()
  try("event wait", e.wait, e, "soon")
  local c = mp.Condition()
  try("condition wait", c.wait, c, {})
  try("notify n", c.notify, c, "two")
  try("wait_for predicate", c.wait_for, c, 123)
  try("with f", l.with, l, "f")
  try("queue maxsize", mp.Queue, "ten")
  local b = mp.Barrier(2)
  try("barrier wait", b.wait, b, true)
  local q = mp.JoinableQueue(1)
  try("put nil", q.put, q, nil)
  try("put coroutine", q.put, q, co)
  try("put block", q.put, q, 1, "yes")
  try("put timeout", q.put, q, 1, true, "later")
  try("put_nowait nil", q.put_nowait, q, nil)
  try("put_nowait coroutine", q.put_nowait, q, {co})
  try("get block", q.get, q, 0)
  local a = mp.Pipe()
  try("send coroutine", a.send, a, {k = co})
  try("send_bytes table", a.send_bytes, a, {})
  try("poll timeout", a.poll, a, "x")
  local v = mp.Value(1)
  try("set coroutine", v.set, v, co)
  try("add table", v.add, v, {})
  try("add text", v.add, v, "ten")
  -- What the declarations let through.
  c:acquire()
  out[#out + 1] = "notify without n: " .. tostring(select("#", c:notify()) == 0)
  c:release()
  out[#out + 1] = "add a numeric string: " .. tostring(v:add("2"))
  out[#out + 1] = "poll without timeout: " .. tostring(a:poll())
  out[#out + 1] = "send_bytes a number, recv_bytes: " .. tostring((function() local x, y = mp.Pipe(); x:send_bytes(42); return y:recv_bytes() end)())
  return out
end

for _, line in ipairs(wrong()) do print(line) end
