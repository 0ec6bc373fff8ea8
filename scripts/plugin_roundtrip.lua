-- Values that cross to a plugin and back unchanged (hello.echo), from the
-- main script and (with "in a child") from a child process: many results
-- with nils among them and at the end, nested tables, binary strings with
-- NULs, and a 10 MB string.
-- plugins
-- in a child
-- timeout: 180
-- This folder's hello.lua would come first: Lua files before plugins.
package.path = ""
local hello = require("hello")

-- deep compares two values as data.
local function same(a, b)
	if type(a) ~= type(b) then return false end
	if type(a) ~= "table" then return a == b end
	for k, v in pairs(a) do
		if not same(v, b[k]) then return false end
	end
	for k in pairs(b) do
		if a[k] == nil then return false end
	end
	return true
end

-- many values, nils in the middle and at the end
local args = {n = 40}
for i = 1, args.n do
	if i % 3 ~= 0 then args[i] = i * 1.5 end
end
args[39] = "last but one"
local function count(...) return select("#", ...), {...} end
local n, back = count(hello.echo(unpack(args, 1, args.n)))
print("many", n, same(back, {unpack(args, 1, args.n)}))
print("nils", select("#", hello.echo(nil)), select("#", hello.echo(nil, nil, 1, nil, nil)))

-- nested tables, mixed keys
local nested = {1, "two", {3, {4, {5, {deep = {deeper = {true, false}}}}}},
	k = {x = {y = {z = "zz"}}}, [1.5] = "float key", [true] = "bool key", [-7] = {}}
print("nested", same(hello.echo(nested), nested))

-- binary strings: every byte, NULs inside and at both ends
local bytes = {}
for b = 0, 255 do bytes[#bytes + 1] = string.char(b) end
local binary = "\0" .. table.concat(bytes) .. "\0\0mid\0" .. "\0"
local got = hello.echo(binary)
local keyed = hello.echo({[binary] = binary})
print("binary", #got, got == binary, keyed[binary] == binary)

-- a 10 MB string, and one in a table among other values
local huge = string.rep("0123456789\0abcdef", 10 * 1024 * 1024 / 17 + 1)
local h1, h2, h3 = hello.echo(huge, nil, {s = huge})
print("huge", #huge >= 10 * 1024 * 1024, #h1 == #huge, h1 == huge, h2, h3.s == huge)
