package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkProcessStart1: start one trivial process and join it; the figure
// is one start+join.
func BenchmarkProcessStart1(b *testing.B) {
	sideBySide(b, workload{name: "process_start_1", reps: 40})
}

// BenchmarkProcessStart50: start 50 trivial processes, then join them all;
// the figure is one batch.
func BenchmarkProcessStart50(b *testing.B) {
	sideBySide(b, workload{name: "process_start_50", reps: 4})
}

// BenchmarkQueueInts: a child puts 100 000 small ints into a Queue, the
// parent gets them all, then joins; the figure is one whole transfer.
func BenchmarkQueueInts(b *testing.B) {
	sideBySide(b, workload{name: "queue_ints", reps: 2, count: 100000, thing: "items"})
}

// BenchmarkQueue10KB: a child puts 10 000 strings of 10 KB into a Queue, the
// parent gets them all, then joins; the figure is one whole transfer.
func BenchmarkQueue10KB(b *testing.B) {
	// Five transfers on each side: the first ones are slower in mphost
	// (~100 against ~65 ms) while the host's heap grows to hold them.
	sideBySide(b, workload{name: "queue_10kb", reps: 5,
		count: 10000, thing: "items", bytes: 10240})
}

// BenchmarkPipePingPong: a child echoes small ints over a duplex Pipe; an
// operation is a batch of 1000 round trips, and the log line gives the time
// of one.
func BenchmarkPipePingPong(b *testing.B) {
	sideBySide(b, workload{name: "pipe_pingpong", reps: 2, pythonReps: 10,
		count: 1000, thing: "roundtrips"})
}

// BenchmarkLockContended: two children each do 1000 increments of a shared
// Value under one Lock; an operation is one round of 2000 increments, and the
// log line gives the time of one.
func BenchmarkLockContended(b *testing.B) {
	sideBySide(b, workload{name: "lock_contended", reps: 1, pythonReps: 100,
		count: 2000, thing: "increments"})
}

// BenchmarkPoolMap100k: Pool(2).map(square, 1..100000) with the default
// chunksize, the pool created beforehand; the figure is one map.
func BenchmarkPoolMap100k(b *testing.B) {
	sideBySide(b, workload{name: "pool_map_100k", reps: 5, pythonReps: 10,
		count: 100000, thing: "items"})
}

// BenchmarkPoolMapChunk1: Pool(2).map over 10 000 items with chunksize 1,
// the pool created beforehand; the figure is one map.
func BenchmarkPoolMapChunk1(b *testing.B) {
	sideBySide(b, workload{name: "pool_map_chunk1", reps: 1, pythonReps: 2,
		count: 10000, thing: "items"})
}

// BenchmarkPoolCreate: create Pool(2) and wait until the first apply of a
// trivial task returns; the figure is creation until ready (the close and
// join after it are not timed).
func BenchmarkPoolCreate(b *testing.B) {
	sideBySide(b, workload{name: "pool_create", reps: 20})
}

// BenchmarkPiSerial: a Monte Carlo estimate of pi, 4e6 samples in 8 chunks,
// in the main script, one chunk after the other; the figure is one
// estimate. BenchmarkPiPool, run after it, logs the speedup.
func BenchmarkPiSerial(b *testing.B) {
	piSerial = sideBySide(b, workload{name: "pi_serial", reps: 1})
}

// BenchmarkPiPool1: the same estimate as BenchmarkPiSerial in a Pool(1)
// made beforehand: one worker process does it all. mphost's main script
// checks between instructions whether it should stop (Ctrl-C, --timeout);
// its children do not, so they run Lua faster, and a Pool(2) against the
// main script would credit that to the second worker. BenchmarkPiPool, run
// after it, logs the speedup of a second worker.
func BenchmarkPiPool1(b *testing.B) {
	piPool1 = sideBySide(b, workload{name: "pi_pool", args: []string{"1"}, reps: 1})
}

// BenchmarkPiPool: the same estimate as BenchmarkPiSerial in a Pool(2) made
// beforehand, map over the 8 chunks with chunksize 1; the figure is one
// estimate. When BenchmarkPiSerial and BenchmarkPiPool1 ran before it in
// the same run, it also reports each side's speedups: serial/pool as
// mphost-speedup and python-speedup, the main script against the pool, and
// pool1/pool as mphost-speedup-pool1 and python-speedup-pool1, one worker
// against two.
func BenchmarkPiPool(b *testing.B) {
	pool := sideBySide(b, workload{name: "pi_pool", reps: 1})
	logSpeedup(b, "serial", "", piSerial, pool)
	logSpeedup(b, "pool1", "-pool1", piPool1, pool)
}

// logSpeedup reports and logs each side's speedup from one medians to
// another, under metrics named SIDE-speedup+suffix; it says so when the
// benchmark of from (named by what) did not run.
func logSpeedup(b *testing.B, what, suffix string, from, to medians) {
	if from.mphost == 0 {
		b.Logf("no speedup %s/pool: its benchmark did not run before this one", what)
		return
	}
	b.ReportMetric(from.mphost/to.mphost, "mphost-speedup"+suffix)
	line := fmt.Sprintf("speedup %s/pool: mphost %.2fx", what, from.mphost/to.mphost)
	if from.python != 0 && to.python != 0 {
		b.ReportMetric(from.python/to.python, "python-speedup"+suffix)
		line += fmt.Sprintf(", python %.2fx", from.python/to.python)
	}
	b.Log(line)
}

// piSerial and piPool1 hold the medians of BenchmarkPiSerial and
// BenchmarkPiPool1 for BenchmarkPiPool.
var piSerial, piPool1 medians

// workload is one job written twice, as workloads/NAME.lua for mphost and
// workloads/NAME.py for Python.
type workload struct {
	name string
	args []string // after REPS, to both programs
	reps int      // operations each program times, after one to warm up
	// pythonReps, when set, is reps for the Python program only: where
	// Python's operation is much faster, more of them steady its figure
	// without making mphost's run long.
	pythonReps int
	// count is how many things one operation does (items moved, round
	// trips, increments; 0: none worth a rate), thing what they are. The
	// benchmark then also reports mphost-THING/s and python-THING/s and logs
	// the time per thing.
	count int
	thing string
	// bytes, when set, is the size of each thing: the benchmark then also
	// reports mphost-MB/s and python-MB/s (MB: 10^6 bytes).
	bytes int
}

// medians are a side-by-side benchmark's medians in seconds per operation;
// python is 0 when the Python side did not run.
type medians struct{ mphost, python float64 }

// rounds is how many times one benchmark iteration runs each side.
const rounds = 3

// alternate runs each side once, the Python side first in every other round
// (round counts the rounds done), and returns what each gave; runPython is
// nil when there is no python3, and p is then the zero T.
func alternate[T any](round int, runMphost, runPython func() T) (m, p T) {
	if runPython != nil && round%2 == 1 {
		p = runPython()
	}
	m = runMphost()
	if runPython != nil && round%2 == 0 {
		p = runPython()
	}
	return m, p
}

// timings are the seconds per operation of each round of a side-by-side
// benchmark, on each side, and each round's ratio python/mphost.
type timings struct{ mphost, python, ratios []float64 }

// loop runs n rounds per iteration of b's loop (see alternate); runPython is
// nil when there is no python3.
func (t *timings) loop(b *testing.B, n int, runMphost, runPython func() float64) {
	for b.Loop() {
		for range n {
			m, p := alternate(len(t.mphost), runMphost, runPython)
			t.mphost = append(t.mphost, m)
			if runPython != nil {
				t.python, t.ratios = append(t.python, p), append(t.ratios, p/m)
			}
		}
	}
}

// report reports the medians over all rounds, mphost-ms and python-ms per
// operation and ratio, the median of each round's python/mphost (above 1:
// mphost is faster), logs them with label and tail(mphost, python) and
// returns them. Without a Python side it says so.
func (t *timings) report(b *testing.B, label string, tail func(mphost, python float64) string) medians {
	b.Helper()
	b.ReportMetric(0, "ns/op") // an iteration is whole program runs: not a figure
	m := median(t.mphost)
	b.ReportMetric(m*1e3, "mphost-ms")
	if len(t.python) == 0 {
		b.Logf("%s: mphost %s (%d rounds)%s; python3 not found, so the Python side is skipped",
			label, spread(t.mphost), len(t.mphost), tail(m, 0))
		return medians{mphost: m}
	}
	p, ratio := median(t.python), median(t.ratios)
	b.ReportMetric(p*1e3, "python-ms")
	b.ReportMetric(ratio, "ratio")
	b.Logf("%s: mphost %s, python %s, ratio %.2f (python/mphost, median of %d rounds; >1: mphost is faster)%s",
		label, spread(t.mphost), spread(t.python), ratio, len(t.ratios), tail(m, p))
	return medians{mphost: m, python: p}
}

// runTimeout bounds one run of a workload program, so that a hang fails the
// benchmark instead of stalling the run.
const runTimeout = 60 * time.Second

// sideBySide runs w in mphost and in Python, rounds times per iteration, one
// program after the other (alternating which goes first), and reports the
// medians over all rounds: mphost-ms and python-ms per operation, and ratio,
// the median of each round's python/mphost (above 1: mphost is faster), plus
// the rates w asks for. It returns the medians. Without python3 the Python
// side is skipped with a message.
func sideBySide(b *testing.B, w workload) medians {
	mphost := mphostBinary(b)
	python, _ := exec.LookPath("python3") // "" when there is none
	mphostRun := []string{mphost, "run", w.name + ".lua"}
	// -B: no __pycache__ in the source tree; -E -s: no PYTHON* variables, no
	// user site-packages.
	pythonRun := []string{python, "-B", "-E", "-s", w.name + ".py"}
	label := strings.Join(append([]string{w.name}, w.args...), " ")
	pythonReps := w.reps
	if w.pythonReps > 0 {
		pythonReps = w.pythonReps
	}

	var runPython func() float64
	if python != "" {
		runPython = func() float64 { return runWorkload(b, pythonRun, pythonReps, w.args) }
	}
	var t timings
	t.loop(b, rounds, func() float64 { return runWorkload(b, mphostRun, w.reps, w.args) }, runPython)
	m := t.report(b, label, w.perThing)
	w.reportRates(b, "mphost", m.mphost)
	if m.python > 0 {
		w.reportRates(b, "python", m.python)
	}
	return m
}

// reportRates reports side's rates for w, given its seconds per operation.
func (w workload) reportRates(b *testing.B, side string, secs float64) {
	if w.count == 0 {
		return
	}
	b.ReportMetric(float64(w.count)/secs, side+"-"+w.thing+"/s")
	if w.bytes > 0 {
		b.ReportMetric(float64(w.count*w.bytes)/secs/1e6, side+"-MB/s")
	}
}

// perThing is the log line's tail for w: the median time per thing and the
// rates on each side (python 0: no Python side).
func (w workload) perThing(mphost, python float64) string {
	if w.count == 0 {
		return ""
	}
	n := float64(w.count)
	side := func(name string, secs float64) string {
		s := fmt.Sprintf("%s %.3g µs, %.3g %s/s", name, secs/n*1e6, n/secs, w.thing)
		if w.bytes > 0 {
			s += fmt.Sprintf(", %.0f MB/s", n*float64(w.bytes)/secs/1e6)
		}
		return s
	}
	s := "; per " + strings.TrimSuffix(w.thing, "s") + ": " + side("mphost", mphost)
	if python > 0 {
		s += "; " + side("python", python)
	}
	return s
}

// runWorkload runs one workload program (argv without its arguments) in the
// workloads folder with reps as REPS, then args, and returns the seconds per
// operation it reports on its one "RESULT <seconds> s" line.
func runWorkload(b *testing.B, argv []string, reps int, args []string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], slices.Concat(argv[1:], []string{strconv.Itoa(reps)}, args)...)
	cmd.Dir = "workloads"
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	run := filepath.Base(argv[0]) + " " + strings.Join(cmd.Args[1:], " ")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no result after %v", runTimeout)
		}
		b.Fatalf("%s: %v\nstderr:\n%s", run, err, stderr.String())
	}
	secs, err := parseResult(stdout.String())
	if err != nil {
		b.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", run, err, stdout.String(), stderr.String())
	}
	return secs
}

// parseResult finds the one "RESULT <seconds> s" line in a workload's output.
func parseResult(out string) (float64, error) {
	var results []string
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			results = append(results, strings.TrimSpace(rest))
		}
	}
	if len(results) != 1 {
		return 0, fmt.Errorf("printed %d RESULT lines, want 1", len(results))
	}
	value, unit, _ := strings.Cut(results[0], " ")
	if unit != "s" {
		return 0, fmt.Errorf("RESULT unit %q, want s", unit)
	}
	secs, err := strconv.ParseFloat(value, 64)
	if err != nil || !(secs > 0) {
		return 0, fmt.Errorf("RESULT %q is not a positive number of seconds", value)
	}
	return secs, nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread formats seconds per operation as "median ms (min-max)".
func spread(xs []float64) string {
	return fmt.Sprintf("%.2f ms (%.2f-%.2f)", median(xs)*1e3, slices.Min(xs)*1e3, slices.Max(xs)*1e3)
}

// built is the mphost binary, built on first use so that runs without the
// side-by-side benchmarks (go test ./...) do not pay for the build; TestMain
// removes it.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// mphostBinary builds the mphost command without the race detector (the
// figures are for the real thing) and returns its path.
func mphostBinary(b *testing.B) string {
	b.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "mphost-bench-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "mphost")
		out, err := exec.Command("go", "build", "-o", built.path, "github.com/mphost/mphost").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		b.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
