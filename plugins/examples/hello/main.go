// Command mphost-plugin-hello is the example mphost plugin: the module
// hello, for scripts and for mphost's tests. Build it with
//
//	go build -o DIR/mphost-plugin-hello ./plugins/examples/hello
//
// and run a script that requires "hello" with mphost --plugin-dir DIR.
package main

import (
	"os"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/plugins"
)

func main() {
	plugins.Serve(plugins.Module{Name: "hello", Version: "1.0.0", Loader: loader, Stubs: stubs})
}

// calls is count's counter: Go state, so one for the whole plugin process,
// whichever Lua state of its pool runs a call.
var calls atomic.Int64

func loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"greet": greet,
		"add":   add,
		"echo":  echo,
		"fail":  fail,
		"exit":  exit,
		"pid":   pid,
		"count": count,
	}))
	return 1
}

func greet(L *lua.LState) int {
	L.Push(lua.LString("hello, " + L.CheckString(1)))
	return 1
}

func add(L *lua.LState) int {
	L.Push(L.CheckNumber(1) + L.CheckNumber(2))
	return 1
}

func echo(L *lua.LState) int {
	return L.GetTop() // the arguments, unchanged, are the results
}

func fail(L *lua.LState) int {
	L.Error(L.Get(1), 0) // the value as it is, without a position
	return 0
}

func exit(L *lua.LState) int {
	os.Exit(L.CheckInt(1))
	return 0
}

func pid(L *lua.LState) int {
	L.Push(lua.LNumber(os.Getpid()))
	return 1
}

func count(L *lua.LState) int {
	L.Push(lua.LNumber(calls.Add(1)))
	return 1
}

const stubs = `---@meta

---The example plugin of mphost.
---@class hello
local hello = {}

---Returns "hello, " .. name.
---@param name string
---@return string
function hello.greet(name) end

---Returns a + b.
---@param a number
---@param b number
---@return number
function hello.add(a, b) end

---Returns its arguments unchanged.
---@param ... any
---@return any ...
function hello.echo(...) end

---Raises msg as an error.
---@param msg any
function hello.fail(msg) end

---Ends the plugin process with the status code.
---@param code integer
function hello.exit(code) end

---Returns the plugin process's pid.
---@return integer
function hello.pid() end

---Adds 1 to a counter kept in the plugin process and returns it.
---@return integer
function hello.count() end

return hello
`
