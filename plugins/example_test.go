package plugins_test

import (
	"fmt"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/plugins"
)

// hits is Go state: one counter for the whole plugin process, whichever
// Lua state of the pool runs a call.
var hits atomic.Int64

// counter is the module of the examples: require("counter").hit() counts
// the calls of every script of a run.
var counter = plugins.Module{
	Name:    "counter",
	Version: "1.0.0",
	Loader: func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"hit": func(L *lua.LState) int {
				L.Push(lua.LNumber(hits.Add(1)))
				return 1
			},
		}))
		return 1
	},
	Stubs: "---@meta\n\n---@class counter\nlocal counter = {}\n\n---Counts one more hit and returns the total.\n---@return integer\nfunction counter.hit() end\n\nreturn counter\n",
}

// A Module's Loader is an ordinary gopher-lua loader: before it becomes a
// plugin, try it in a plain Lua state, as here, and see what scripts will
// get. In the plugin process each Lua state of the pool loads it the same
// way, and the Go counter is one for all of them.
func Example() {
	for range 2 { // two states, as two calls at once in the plugin get
		L := lua.NewState()
		L.PreloadModule(counter.Name, counter.Loader)
		if err := L.DoString(`local counter = require("counter") counter.hit() print(counter.hit())`); err != nil {
			fmt.Println(err)
		}
		L.Close()
	}
	fmt.Println(hits.Load())
	// Output:
	// 2
	// 4
	// 4
}

// A plugin's main serves one module. Build it as mphost-plugin-counter in
// a folder given to mphost with --plugin-dir; scripts then call
// require("counter").hit().
func ExampleServe() {
	plugins.Serve(counter)
}
