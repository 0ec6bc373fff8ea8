// Package bench holds mphost's benchmarks. Performance goals live here as Go
// Benchmark functions, never in timed tests:
//
//	go test -run '^$' -bench . ./bench/
//
// The codec benchmarks measure a round trip (encode in one VM, decode in
// another) of the values the issue tracker names.
//
// The side-by-side benchmarks (BenchmarkProcessStart1, ...) run one workload
// in mphost and in Python multiprocessing (python3, start method fork) in the
// same run, one after the other, because the same figure moves by up to 2x
// between runs on a small machine. Each workload is written twice, as
// workloads/NAME.lua and workloads/NAME.py, both timed by a small harness
// (workloads/harness.lua, workloads/harness.py) that works the same way on
// both sides: it runs the operation once to warm up, then REPS times (REPS is
// given by the benchmark), and prints one line "RESULT <mean seconds per op>
// s". A workload whose operation is long may warm up with a smaller one that
// pays the same first-use costs (a child's first start, a pool worker getting
// the function), and an operation may hand back an untimed cleanup (closing
// the pool whose creation it timed). Where Python's operation is much faster,
// the Python program may time more of them than mphost's.
//
// Each program times itself, so that neither interpreter's start-up nor the
// loading of the script counts. Python uses time.perf_counter. Lua uses
// os.clock: in gopher-lua it is the monotonic wall time since the interpreter
// started, not CPU time as in C Lua, and the harness checks that across an
// mp.sleep before it trusts it (a CPU clock would miss the time the host spends
// waiting for its children). The other way, timing whole runs of the
// program minus an empty script's run, was rejected: it subtracts two noisy
// figures that are mostly start-up and shutdown. What the figures leave out,
// on both sides, is the start-up and the shutdown of the program itself
// (mphost's ending of idle children, Python's exit).
//
// One benchmark iteration runs each side three times (rounds), alternating
// which goes first. The benchmark reports the medians over all rounds as
// mphost-ms and python-ms (per operation), and ratio: the median of each
// round's python/mphost, so above 1 means mphost is faster. It also logs a
// line with each side's median and range. A workload that moves items (or
// makes round trips, or increments) also reports each side's rate, as
// mphost-items/s and python-items/s (mphost-MB/s for sized items), and logs
// the time per item; BenchmarkPiPool, run after BenchmarkPiSerial, reports
// each side's speedup (serial/pool). The built-in ns/op is suppressed,
// since an iteration is whole program runs. The mphost binary is built once,
// on first use, into a temporary folder. Without python3 the Python side is
// skipped with a message.
//
// Three benchmarks measure whole programs instead. BenchmarkRunWhole times
// whole runs from outside, start-up and shutdown included: `mphost run -e`
// against `python3 -c`. BenchmarkChildMemory reads from /proc the memory of
// an idle child (workloads/child_idle.lua and .py, each printing its child's
// pid and waiting for a line on stdin) and of the floor programs of
// bench/memfloor. BenchmarkVMHeap measures in process the heap one Lua state
// keeps live. bench/README.md has the figures, and tools/perftop.py reads a
// `perf record -g` profile of one of mphost's processes.
package bench
