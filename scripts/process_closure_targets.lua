-- Closures and functions as targets: upvalues are a snapshot taken at
-- start and stay shared between closures; globals the target reads travel
-- with it; a module's function may be the target, and the child finds the
-- modules beside this script (scripts/modules/) as the host does, though
-- the run starts from the folder above.
local mp = require("mp")
local shapes = require("modules.shapes")

helpers = {double = function(x) return 2 * x end, label = "helper"}
function shout(s) return s:upper() .. "!" end

local function run(target, ...)
  local p = mp.Process{target = target, args = {...}}
  p:start()
  p:join()
  if p.exitcode ~= 0 then print("exitcode", p.exitcode) end
end

-- upvalues are a snapshot taken at start
local base = 10
local function adder(k) return function(x) print("adder", base + k + x) end end
local p = mp.Process{target = adder(5), args = {1}}
p:start()
base = 1000
p:join()

-- two closures that share an upvalue still share it in the child
local count = 0
local function bump() count = count + 1 return count end
local function read() return count end
run(function() bump() bump() print("shared", read(), count) end)
print("count in parent", count)

-- a recursive local function is its own upvalue
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
run(function(n) print("fact", fact(n)) end, 10)

-- globals the target reads travel with it: a table of helpers, a function
run(function(x) print("globals", helpers.label, helpers.double(x), shout("hi")) end, 21)

-- a module's function as the target; one that requires another module in the child
run(shapes.describe, 3, 4)
run(shapes.fancy, 5)

-- an upvalue with a metatable and methods
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:norm2() return self.x * self.x + self.y * self.y end
local pt = Point.new(3, 4)
run(function() print("method", pt:norm2(), getmetatable(pt) == Point) end)
