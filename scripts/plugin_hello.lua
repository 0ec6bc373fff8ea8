-- The example plugin from the main script, a child process and pool
-- workers: one plugin process for the whole run (one pid, one counter),
-- values that cross both ways with nils in place, and a closure that
-- captures a plugin function shipped to a pool worker.
-- plugins
-- in a child
local mp = require("mp")
-- This folder's hello.lua would come first: Lua files before plugins.
package.path = "./?.lua"
local hello = require("hello")

print(hello.greet("world"), hello.add(2, 3.5))
print(select("#", hello.echo(1, nil, "x", nil)), hello.echo(1, nil, "x", nil))
local t = hello.echo({1, 2, k = {deep = "y"}})
print(t[2], t.k.deep)
print(require("hello") == hello, hello.count())

local pid = hello.pid()
local q = mp.Queue()
local p = mp.Process{target = function(q)
	local h = hello
	q:put({h.pid(), h.count(), h.greet("child")})
end, args = {q}}
p:start()
local got = q:get(true, 30)
p:join()
print(got[1] == pid, got[2], got[3])

local greet = hello.greet -- captured: crosses by name
local pool = mp.Pool(2)
local res = pool:map(function(x)
	return {greet(tostring(x)), hello.pid(), hello.count()}
end, {1, 2, 3, 4})
pool:close()
pool:join()
local counts = {}
for i, r in ipairs(res) do
	print(r[1], r[2] == pid)
	counts[#counts + 1] = r[3]
end
table.sort(counts)
print(table.concat(counts, " "), hello.count())
