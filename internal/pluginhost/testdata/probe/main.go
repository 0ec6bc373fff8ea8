// Command probe is a plugin for the tests of what the example plugin must
// not offer: a call that never ends by itself, a Go panic, output on the
// plugin's own stderr, a crash of the whole process.
package main

import (
	"fmt"
	"os"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/plugins"
)

func main() {
	plugins.Serve(plugins.Module{Name: "probe", Version: "0.0.1", Loader: loader})
}

// spinning counts the calls of spin running now.
var spinning atomic.Int64

func loader(L *lua.LState) int {
	loop, err := L.LoadString("while true do end")
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		// spin runs a Lua loop that ends only when the call is cancelled.
		"spin": func(L *lua.LState) int {
			spinning.Add(1)
			defer spinning.Add(-1)
			L.Push(loop)
			L.Call(0, 0)
			return 0
		},
		// spinning returns how many calls of spin run now.
		"spinning": func(L *lua.LState) int {
			L.Push(lua.LNumber(spinning.Load()))
			return 1
		},
		// gopanic panics in Go with its argument.
		"gopanic": func(L *lua.LState) int {
			panic(L.CheckString(1))
		},
		// log writes its arguments to the process's stderr, one write each.
		"log": func(L *lua.LState) int {
			for i := 1; i <= L.GetTop(); i++ {
				fmt.Fprint(os.Stderr, L.CheckString(i))
			}
			return 0
		},
		// crash panics on a goroutine of its own, which ends the process.
		"crash": func(L *lua.LState) int {
			msg := L.CheckString(1)
			go func() { panic(msg) }()
			select {}
		},
	}))
	return 1
}
