package script

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestGCPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live int64
		want int
	}{
		{0, 6400},      // before the first collection: grow to the floor
		{mb / 2, 6350}, // a tiny heap counts as 1 MB (the floor less what is live)
		{2 * mb, 3100}, // 2 MB live: collect at 64 MB
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
// percent above Go's default.
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
}
