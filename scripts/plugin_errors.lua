-- What goes wrong with plugins, as the script author reads it: an unknown
-- module says where it was looked for, a plugin's Lua error names the
-- plugin at the caller's line, a table raised stays a table, and what
-- cannot go to a plugin is refused with its path.
-- plugins
-- in a child
-- This folder's hello.lua would come first: Lua files before plugins.
package.path = "./?.lua"
local hello = require("hello")
local here = debug.getinfo(1, "S").source:gsub("^@", "")

local function message(ok, err)
	return (tostring(err):gsub(here, "HERE"))
end

local err = message(pcall(require, "nosuch"))
print(err:match("^HERE:%d+: module nosuch not found:") ~= nil)
print(err:find("no file './nosuch.lua'", 1, true) ~= nil)
print(err:find('no plugin "nosuch": looked for mphost-plugin-nosuch in ', 1, true) ~= nil)
print(err:find("(--plugin-dir)", 1, true) ~= nil)

print(message(pcall(hello.fail, "boom")))
local ok, e = pcall(hello.fail, {code = 7})
print(ok, type(e), e.code)
print(message(pcall(hello.greet)))
print(message(pcall(hello.echo, 1, function() end)))
print(message(pcall(hello.echo, {cb = {print}})))
print(message(pcall(hello.echo, 1, nil, require("mp").Queue())))
print(hello.greet("still here"))
