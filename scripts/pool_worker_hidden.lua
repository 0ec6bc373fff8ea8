-- in a child
--
-- A pool worker is a kind of start the host knows: the `mp` module has no
-- hidden builtin for it, in the script or in the workers, and a worker's
-- own process object names it and has no target.
local mp = require("mp")

local function hidden()
  local names = {}
  for k in pairs(mp) do
    if type(k) == "string" and k:sub(1, 1) == "_" then
      names[#names + 1] = k
    end
  end
  table.sort(names)
  return table.concat(names, ",")
end

print("hidden names here", "[" .. hidden() .. "]")
local pool = mp.Pool(1)
print("hidden names in a worker", "[" .. pool:apply(hidden, {}) .. "]")
print("worker's process", pool:apply(function()
  local me = mp.current_process()
  return me.name:match("^PoolWorker%-%d+$") ~= nil and me.target == nil
end, {}))
pool:close()
pool:join()
