package host_test

import (
	"context"
	"fmt"
	"math"
	"os"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/host"
)

// The test binary registers "geo" in init, so that its children, which run
// the same binary, have it too.
func init() {
	host.Register("geo", func(L *lua.LState) int {
		L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"dist": func(L *lua.LState) int {
				x, y := float64(L.CheckNumber(1)), float64(L.CheckNumber(2))
				L.Push(lua.LNumber(math.Hypot(x, y)))
				return 1
			},
		}))
		return 1
	})
}

// A module registered with host.Register works in the main script, in an
// mp.Process child and in pool workers; a closure that captures one of its
// functions crosses processes.
func ExampleRegister() {
	h := host.New(host.Options{Stdout: os.Stdout})
	defer h.Close()
	_, err := h.RunString(context.Background(), "geo.lua", `
		local mp = require("mp")
		local dist = require("geo").dist
		print("main", dist(3, 4))
		local p = mp.Process{target = function() print("child", dist(6, 8)) end}
		p:start()
		p:join()
		local pool = mp.Pool(2)
		local out = pool:map(function(x) return dist(x, 0) end, {1, 2, 3})
		pool:close()
		pool:join()
		print("pool", table.concat(out, " "))
	`)
	fmt.Println("error:", err)
	// Output:
	// main	5
	// child	10
	// pool	1 2 3
	// error: <nil>
}
