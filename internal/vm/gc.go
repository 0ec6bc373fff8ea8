package vm

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gopher-lua boxes every number it stores in an interface, so a Lua loop
// allocates all the time while its live heap stays small: under Go's
// default GOGC=100 a process running Lua collects garbage every few
// megabytes, and the collector takes a large share of the machine from the
// other processes (bench/README.md has the pool speedups it cost). TuneGC
// lets the heap grow to a floor before the
// collector runs, and collects as GOGC=100 does once the live heap is larger
// than the floor.

// DefaultGCFloor is the heap size below which TuneGC does not collect.
const DefaultGCFloor = 64 << 20

// TuneGC sets this process's garbage collector for Lua: the heap may grow
// to floor bytes, or to twice the live heap when that is larger, before it
// is collected. It does nothing when the GOGC environment variable is set:
// the user has chosen. Call it once, at start.
func TuneGC(floor int64) {
	if _, set := os.LookupEnv("GOGC"); set || floor <= 0 {
		return
	}
	t := &gcTuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.tune()
}

// gcTuner sets the GC percent after every collection, from the live heap.
type gcTuner struct {
	floor   int64
	percent int
	sample  []metrics.Sample
}

// tune sets the percent for the live heap now, and arms itself to run again
// after the next collection, through the finalizer of an object that only
// it references.
func (t *gcTuner) tune() {
	metrics.Read(t.sample)
	percent := gcPercent(int64(t.sample[0].Value.Uint64()), t.floor)
	// Setting the percent stops the world for a moment: not for small changes.
	if d := percent - t.percent; d > t.percent/4 || -d > t.percent/4 {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
	runtime.SetFinalizer(new([16]byte), func(*[16]byte) { t.tune() })
}

// goHeapMinimum is the heap Go lets grow to before it collects, whatever
// is live, under GOGC=100. It scales with the percent: under GOGC=1600 it
// is 64 MB.
const goHeapMinimum = 4 << 20

// gcPercent is the GC percent for a live heap of live bytes: the one that
// lets the heap grow to floor, or 100 once twice the live heap is more.
// A live heap under goHeapMinimum counts as goHeapMinimum, since that is
// the heap the percent scales: counting it as less would set a heap goal
// far above the floor, all of it memory touched for the first time.
func gcPercent(live, floor int64) int {
	if live >= floor/2 {
		return 100
	}
	return int((floor - live) * 100 / max(live, goHeapMinimum))
}
