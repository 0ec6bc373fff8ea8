package plugins_test

import (
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/plugins"
)

// hits is Go state: one counter for the whole plugin process, whichever
// Lua state of the pool runs a call.
var hits atomic.Int64

// A plugin's main serves one module. Build it as mphost-plugin-counter in
// a folder given to mphost with --plugin-dir; scripts then call
// require("counter").hit().
func Example() {
	plugins.Serve(plugins.Module{
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
	})
}
