package vm

import (
	"runtime"
	"testing"
)

// A Process object keeps its fields in its procState: its table holds no
// room for keys it will not get, which a script that makes many of them
// would pay for each.
func TestProcessObjectsAreSmall(t *testing.T) {
	v := New(Options{})
	defer v.Close()
	const n = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := v.L.DoString(`local mp = require("mp")
		local f = function() end
		for i = 1, 100 do local p = mp.Process{target = f} end`)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	// An object, its procState and its name take under 2 kB; a table made
	// with L.NewTable takes about 3 kB more.
	const most = 3 << 10
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > most {
		t.Errorf("a Process object allocates %d bytes, want at most %d", per, most)
	}
}
