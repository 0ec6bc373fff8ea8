-- A stack overflow caught by pcall leaves the VM whole: the script goes on
-- with correct results (Lua 5.1 prints the same first two lines).
local function f(n) local ok = pcall(f, n + 1) return n end
print("result", pcall(f, 0))

local function deep(n) return 1 + deep(n + 1) end
local depth = 0
local function counted(n) depth = n; return 1 + counted(n + 1) end
print("caught", pcall(deep, 0))
print("caught again", pcall(counted, 0), depth >= 10000)

local function sum(n) if n == 0 then return 0 end return n + sum(n - 1) end
print("after", sum(10000))
local n = 0
local function bump() n = n + 1 end
bump(); pcall(deep, 0); bump()
print("upvalues", n)
print("end")
