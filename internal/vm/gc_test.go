package vm

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live int64
		want int
	}{
		{0, 1600},      // before the first collection: Go's 4 MB minimum, times 16
		{mb / 2, 1587}, // a heap under 4 MB counts as 4 MB (the floor less what is live)
		{2 * mb, 1550}, // 2 MB live: collect at 64 MB
		{8 * mb, 700},  // 8 MB live: 8 + 56 MB
		{31 * mb, 106}, // nearly half the floor
		{32 * mb, 100}, // half the floor: GOGC=100 collects at the floor too
		{1 << 30, 100}, // a large heap: as GOGC=100
	} {
		if got := gcPercent(c.live, 64*mb); got != c.want {
			t.Errorf("gcPercent(%d, 64 MB) = %d, want %d", c.live, got, c.want)
		}
	}
}

// TestTuneGC checks that TuneGC raises this (small-heap) test process's GC
// percent above Go's default, and that the heap goal it sets is the floor,
// not a multiple of it.
func TestTuneGC(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: TuneGC leaves the collector alone")
	}
	TuneGC(DefaultGCFloor)
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	if percent <= 100 {
		t.Errorf("GC percent after TuneGC: %d, want more than 100 for a heap far under %d bytes", percent, DefaultGCFloor)
	}
	sample := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	// The floor, or twice the live heap when other tests left it larger.
	// Go counts stacks and globals in the goal too, times the percent, so
	// a few MB of them add more than a quarter when other tests left a
	// live heap: the bound tells the floor from a multiple of it.
	goal, live := int64(sample[0].Value.Uint64()), int64(sample[1].Value.Uint64())
	want := max(DefaultGCFloor, 2*live)
	if goal < want/2 || goal > want*3/2 {
		t.Errorf("heap goal after TuneGC: %d MB, want about %d MB (the floor, %d MB, or twice the %d MB live)", goal>>20, want>>20, DefaultGCFloor>>20, live>>20)
	}
}
