package child

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

// heldOverLive is what the heap holds in memory over its live part, after a
// collection that sweeps.
func heldOverLive() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()+s[1].Value.Uint64()+s[2].Value.Uint64()) - int64(s[3].Value.Uint64())
}

// sink keeps the garbage of makeGarbage reachable until it is dropped.
var sink [][]byte

// makeGarbage allocates n bytes in small pieces, then drops them.
func makeGarbage(n int) {
	for range n / 1024 {
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
}

func TestIdleMemoryReturnsGarbagePages(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // as under the GC floor: no collection while it allocates
	m := newIdleMemory()
	m.check()
	if m.check() {
		t.Fatal("returned memory while nothing was held over the live heap")
	}

	makeGarbage(32 << 20)
	if m.check() {
		t.Fatal("returned memory in a second that allocated 32 MB: it is not idle")
	}
	if !m.check() {
		t.Fatalf("an idle check did not return memory; held over live: %d bytes", heldOverLive())
	}
	runtime.GC()
	if held := heldOverLive(); held > idleExcessBytes {
		t.Errorf("after the check the heap holds %d bytes over its live part, want at most %d", held, idleExcessBytes)
	}
	if m.check() {
		t.Error("returned memory twice with no allocation between")
	}

	makeGarbage(32 << 20)
	m.check() // busy
	if !m.check() {
		t.Error("did not return memory again after more work")
	}
}
