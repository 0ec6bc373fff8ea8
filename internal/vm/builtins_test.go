package vm

import (
	"runtime"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// Every VM keeps its builtins' maps: they hold a new VM's names without
// growing, in maps no larger than those names need.
func TestBuiltinsMapsFitTheirNames(t *testing.T) {
	v := New(Options{})
	defer v.Close()
	if n := len(v.builtins.values); n > builtinsRoom {
		t.Errorf("a new VM has %d builtin names, over the maps' room of %d: raise builtinsRoom", n, builtinsRoom)
	}
	mp := v.builtins.values["mp"].(*lua.LTable)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	collectBuiltins(v.L, mp)
	runtime.ReadMemStats(&after)
	// Two maps of 256 slots of 32-byte entries (about 17 kB) and the names
	// built for the tables' members (about 6 kB); maps of 512 slots would
	// make it about 40 kB.
	const most = 32 << 10
	if got := after.TotalAlloc - before.TotalAlloc; got > most {
		t.Errorf("collecting the builtins allocated %d bytes, want at most %d", got, most)
	}
}
