package bench

import (
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// BenchmarkLockUncontended: a child takes and gives a Lock that no other
// process wants, 100 000 times; an operation is the round, and the log line
// gives the time of one acquire+release. BenchmarkLockFloor is the same loop
// with Go functions that do nothing.
func BenchmarkLockUncontended(b *testing.B) {
	sideBySide(b, workload{name: "lock_uncontended", reps: 3,
		count: 100000, thing: "pairs"})
}

// BenchmarkLockFloor: the loop of BenchmarkLockUncontended in one
// gopher-lua state of the benchmark's own, where lock:acquire() and
// lock:release() are Go functions that do nothing: the least that a pair
// costs in gopher-lua, whatever the lock does. The figure is one pair.
func BenchmarkLockFloor(b *testing.B) {
	const n = 100000
	L := lua.NewState()
	defer L.Close()
	noop := func(*lua.LState) int { return 0 }
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{"acquire": noop, "release": noop})
	meta := L.NewTable()
	meta.RawSetString("__index", methods)
	lock := L.NewUserData()
	lock.Metatable = meta
	L.SetGlobal("lock", lock)
	loop, err := L.LoadString(`local lock = lock
		for _ = 1, ... do
			lock:acquire()
			lock:release()
		end`)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		L.Push(loop)
		L.Push(lua.LNumber(n))
		if err := L.PCall(1, 0, nil); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	perPair := float64(total.Nanoseconds()) / float64(b.N) / n
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perPair, "ns/pair")
	b.Logf("floor: %.0f ns an acquire+release of no-op Go functions in gopher-lua", perPair)
}
