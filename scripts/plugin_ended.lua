-- A plugin process that ends during a call fails that call, naming the
-- plugin and how it ended, in the main script and in a child; the next
-- call starts the plugin again.
-- plugins
local mp = require("mp")
-- This folder's hello.lua would come first: Lua files before plugins.
package.path = "./?.lua"
local hello = require("hello")
local here = debug.getinfo(1, "S").source:gsub("^@", "")

local function message(ok, err)
	return ok, (tostring(err):gsub(here, "HERE"):gsub("pid %d+", "pid PID"))
end

local first = hello.pid()
print(message(pcall(hello.exit, 3)))
local second = hello.pid()
print(second ~= first, hello.count())

local q = mp.Queue()
local p = mp.Process{target = function(q)
	q:put({message(pcall(hello.exit, 5))})
	q:put(hello.pid())
end, args = {q}}
p:start()
local r = q:get(true, 30)
print(r[1], r[2])
local third = q:get(true, 30)
p:join()
print(third ~= second, third == hello.pid(), hello.count())
