package host

import (
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// started is set by the first New or ServeChild: from then on a child may
// be running, without the modules registered after it.
var started atomic.Bool

// Register gives scripts a module written in Go, preloaded in every VM of
// this binary: the main script's, every mp.Process child's and every pool
// worker's, so require(name) works in each. loader is an ordinary
// gopher-lua loader (as for L.PreloadModule): it pushes the module's
// table and returns 1. The Go functions of that table are builtins: a Lua
// closure that captures one crosses processes by name, as string.format
// does.
//
// Call Register from an init function, or in main before [ServeChild] and
// [New]: children run the same binary, and know the modules registered
// before ServeChild. It panics on a duplicate name, on a built-in module's
// name, and after New or ServeChild.
func Register(name string, loader lua.LGFunction) {
	if started.Load() {
		panic("host.Register(" + name + "): called after host.New or host.ServeChild; register modules in init or before them")
	}
	vm.RegisterModule(name, loader)
}
