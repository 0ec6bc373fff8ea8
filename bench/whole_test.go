package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// wholeRounds is how many times one iteration of BenchmarkRunWhole runs
// each side of a case: a whole run is short, and its time moves with the
// machine's load, so more rounds than the workloads take.
const wholeRounds = 15

// wholeCase is one script of BenchmarkRunWhole, given on the command line
// to both sides, and the output both must print.
type wholeCase struct {
	name, lua, python, output string
}

// wholeCases are BenchmarkRunWhole's scripts: a one-liner, and one that
// starts a trivial process and joins it (Python's start method fork).
var wholeCases = []wholeCase{
	{name: "print", lua: `print("hello")`, python: `print("hello")`, output: "hello\n"},
	{name: "process",
		lua: `local mp = require("mp"); local p = mp.Process{target = function() print("hello") end}; ` +
			`p:start(); p:join()`,
		python: `import multiprocessing as mp; p = mp.get_context("fork").Process(target=print, args=("hello",)); ` +
			`p.start(); p.join()`,
		output: "hello\n"},
}

// BenchmarkRunWhole: whole runs timed from outside, start-up and shutdown
// included, where the other benchmarks leave them out: `mphost run -e CODE`
// against `python3 -c CODE`, for each of wholeCases. Each iteration runs
// each side wholeRounds times after one untimed run, alternating which goes
// first; a case reports the medians as mphost-ms and python-ms, and ratio,
// the median of each round's python/mphost (above 1: mphost is faster).
func BenchmarkRunWhole(b *testing.B) {
	mphost := mphostBinary(b)
	python, _ := exec.LookPath("python3") // "" when there is none
	for _, c := range wholeCases {
		b.Run(c.name, func(b *testing.B) {
			mphostRun := []string{mphost, "run", "-e", c.lua}
			pythonRun := []string{python, "-B", "-E", "-s", "-c", c.python}
			runWhole(b, mphostRun, c.output) // untimed: the page cache, the first start
			if python != "" {
				runWhole(b, pythonRun, c.output)
			}
			var runPython func() float64
			if python != "" {
				runPython = func() float64 { return runWhole(b, pythonRun, c.output) }
			}
			var t timings
			t.loop(b, wholeRounds, func() float64 { return runWhole(b, mphostRun, c.output) }, runPython)
			t.report(b, c.name, func(_, _ float64) string { return "" })
		})
	}
}

// runWhole runs argv, checks that it printed output and nothing on stderr,
// and returns the seconds it took, start to exit.
func runWhole(b *testing.B, argv []string, output string) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	secs := time.Since(t0).Seconds()
	if err == nil && (stdout.String() != output || stderr.Len() > 0) {
		err = fmt.Errorf("printed %q, want %q", stdout.String(), output)
	}
	if err != nil {
		b.Fatalf("%q: %v\nstderr:\n%s", argv, err, stderr.String())
	}
	return secs
}
