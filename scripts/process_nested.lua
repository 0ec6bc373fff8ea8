-- unordered
--
-- A child may start its own processes; the host starts every process as its
-- own direct child and keeps track of who started whom. Children of
-- Process-1 are named Process-1:1, Process-1:2, ...
local mp = require("mp")

local function leaf(parent)
  print(mp.current_process().name .. " started by " .. mp.parent_process().name .. " (" .. parent .. ")")
end

local function branch()
  local me = mp.current_process().name
  local kids = {}
  for _ = 1, 2 do
    local c = mp.Process{target = leaf, args = {me}}
    c:start()
    kids[#kids + 1] = c
  end
  for _, c in ipairs(kids) do
    c:join()
    print(me .. " joined " .. c.name .. ": exitcode " .. c.exitcode)
  end
end

for _ = 1, 2 do
  mp.Process{target = branch}:start()
end
