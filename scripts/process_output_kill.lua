-- Nothing a child prints before it is killed is lost: 1000 lines printed
-- just before a SIGKILL all reach stdout, whole, and so does a last line
-- without its newline. The child says it has printed by creating a file,
-- not by an mp call, since an mp call would send its output first.
local mp = require("mp")

-- marker returns the path of a file that does not exist yet.
local function marker()
  local path = os.tmpname()
  os.remove(path)
  return path
end

-- appears waits up to 20 s for the file at path, and removes it.
local function appears(path)
  for _ = 1, 2000 do
    local f = io.open(path)
    if f then
      f:close()
      os.remove(path)
      return true
    end
    mp.sleep(0.01)
  end
  return false
end

-- flood prints, says so, then spins until killed.
local function flood(n, done)
  for i = 1, n do print(string.format("line %04d %s", i, string.rep("x", 60))) end
  io.open(done, "w"):close()
  while true do end
end

-- partial writes a line without its newline, says so, then spins until
-- killed.
local function partial(done)
  io.write("partial line")
  io.open(done, "w"):close()
  while true do end
end

local done = marker()
local p = mp.Process{target = flood, args = {1000, done}}
p:start()
local seen = appears(done)
p:kill()
print("flood", seen, p:join(10), p.exitcode)

done = marker()
local q = mp.Process{target = partial, args = {done}}
q:start()
seen = appears(done)
q:kill()
print("partial", seen, q:join(10), q.exitcode)
