-- A child sends 1000 strings of 10 KB (10 MB) and ends; the main script
-- joins it before taking anything, then takes them all.
local mp = require("mp")

local N, SIZE = 1000, 10 * 1024
local function item(i) return string.format("%04d", i) .. string.rep(string.char(65 + i % 26), SIZE - 4) end

local function drain(kind, next_item)
  local n, ok, bytes = 0, true, 0
  while true do
    local s = next_item()
    if s == nil then break end
    n = n + 1
    bytes = bytes + #s
    ok = ok and s == item(n)
  end
  print(kind, "drained", n, bytes, ok)
end

for _, kind in ipairs({"Queue", "JoinableQueue"}) do
  local q = mp[kind]()
  local p = mp.Process{target = function(q) for i = 1, N do q:put(item(i)) end end, args = {q}}
  p:start()
  print(kind, "joined before any get", p:join(30), p.exitcode, q:qsize())
  drain(kind, function() return q:get_nowait() end)
end

local a, b = mp.Pipe()
local p = mp.Process{target = function(b) for i = 1, N do b:send(item(i)) end b:close() end, args = {b}}
p:start(); b:close() -- the child holds its own
print("Pipe", "joined before any recv", p:join(30), p.exitcode)
drain("Pipe", function() return a:recv() end)
