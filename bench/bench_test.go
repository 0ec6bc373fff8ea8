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

// workload is one job written twice, as workloads/NAME.lua for mphost and
// workloads/NAME.py for Python.
type workload struct {
	name string
	reps int // operations each program times, after one to warm up
}

// rounds is how many times one benchmark iteration runs each side.
const rounds = 3

// runTimeout bounds one run of a workload program, so that a hang fails the
// benchmark instead of stalling the run.
const runTimeout = 60 * time.Second

// sideBySide runs w in mphost and in Python, rounds times per iteration, one
// program after the other (alternating which goes first), and reports the
// medians over all rounds: mphost-ms and python-ms per operation, and ratio,
// the median of each round's python/mphost (above 1: mphost is faster).
// Without python3 the Python side is skipped with a message.
func sideBySide(b *testing.B, w workload) {
	mphost := mphostBinary(b)
	python, _ := exec.LookPath("python3") // "" when there is none
	mphostRun := []string{mphost, "run", w.name + ".lua"}
	// -B: no __pycache__ in the source tree; -E -s: no PYTHON* variables, no
	// user site-packages.
	pythonRun := []string{python, "-B", "-E", "-s", w.name + ".py"}

	var mphostSecs, pythonSecs, ratios []float64
	for b.Loop() {
		for range rounds {
			var m, p float64
			runMphost := func() { m = runWorkload(b, w, mphostRun) }
			runPython := func() {
				if python != "" {
					p = runWorkload(b, w, pythonRun)
				}
			}
			if len(mphostSecs)%2 == 0 {
				runMphost()
				runPython()
			} else {
				runPython()
				runMphost()
			}
			mphostSecs = append(mphostSecs, m)
			if python != "" {
				pythonSecs = append(pythonSecs, p)
				ratios = append(ratios, p/m)
			}
		}
	}

	b.ReportMetric(0, "ns/op") // an iteration is whole program runs: not a figure
	m := median(mphostSecs)
	b.ReportMetric(m*1e3, "mphost-ms")
	if python == "" {
		b.Logf("%s: mphost %s (%d rounds); python3 not found, so the Python side is skipped",
			w.name, spread(mphostSecs), len(mphostSecs))
		return
	}
	p, ratio := median(pythonSecs), median(ratios)
	b.ReportMetric(p*1e3, "python-ms")
	b.ReportMetric(ratio, "ratio")
	b.Logf("%s: mphost %s, python %s, ratio %.2f (python/mphost, median of %d rounds; >1: mphost is faster)",
		w.name, spread(mphostSecs), spread(pythonSecs), ratio, len(ratios))
}

// runWorkload runs one workload program (argv without its REPS argument) in
// the workloads folder and returns the seconds per operation it reports on
// its one "RESULT <seconds> s" line.
func runWorkload(b *testing.B, w workload, argv []string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], strconv.Itoa(w.reps))...)
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
