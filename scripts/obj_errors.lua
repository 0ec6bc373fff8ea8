-- in a child
--
-- The same mistakes with the shared objects raise the same errors, in the
-- same words, in the main script and in a child.
local mp = require("mp")

-- mistakes makes each mistake once and returns the errors.
local function mistakes()
  local out = {}
  local function try(name, f, ...)
    local ok, err = pcall(f, ...)
    out[#out + 1] = name .. ": " .. (ok and "no error" or tostring(err))
  end
  local l = mp.Lock()
  try("unheld lock", l.release, l)
  local bs = mp.BoundedSemaphore(1)
  try("over-release", bs.release, bs)
  local c = mp.Condition()
  try("notify unheld", c.notify, c)
  local b = mp.Barrier(2)
  try("barrier timeout", b.wait, b, 0.01)
  local jq = mp.JoinableQueue()
  try("task_done", jq.task_done, jq)
  local q = mp.Queue(1)
  q:close()
  try("put after close", q.put, q, 1)
  local _, z = mp.Pipe()
  z:close()
  try("send on closed", z.send, z, 1)
  local r = mp.Pipe(false)
  try("send on receiver", r.send, r, 1)
  local v = mp.Value("s")
  try("add to text", v.add, v, 1)
  return out
end

for _, line in ipairs(mistakes()) do print(line) end
