package bench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// BenchmarkChildMemory: the memory of an idle child process, an mphost
// Process waiting in an Event (workloads/child_idle.lua) against a forked
// Python child doing the same (child_idle.py), read from /proc while each
// waits. It reports each side's USS (unique set size: Private_Clean +
// Private_Dirty of /proc/PID/smaps_rollup, the memory the child alone
// holds), its anonymous memory and its RSS, in MB of 2^20 bytes, and ratio,
// the median of each round's python/mphost USS (above 1: mphost's child is
// smaller). Beside them, the same of two floor programs (bench/memfloor):
// floor-bare, a Go program doing nothing, and floor-linked, one that links
// gRPC, go-plugin and gopher-lua, serves gRPC and makes one Lua state (their
// anonymous memory and RSS: see reportMemory). It logs, for the mphost and
// Python children of the last round, where their private memory is by
// mapping. The environment is passed on, so GOMAXPROCS, GOGC and GODEBUG
// settings reach mphost's host and child and the floors.
func BenchmarkChildMemory(b *testing.B) {
	mphost := mphostBinary(b)
	python, _ := exec.LookPath("python3") // "" when there is none
	bare, linked := floorBinary(b, "bare"), floorBinary(b, "linked")

	var m, p, fb, fl []memory
	var ratios []float64
	for b.Loop() {
		for range rounds {
			var runPython func() memory
			if python != "" {
				runPython = func() memory { return idleMemory(b, python, "-B", "-E", "-s", "child_idle.py") }
			}
			mm, pm := alternate(len(m), func() memory { return idleMemory(b, mphost, "run", "child_idle.lua") }, runPython)
			m = append(m, mm)
			if python != "" {
				p = append(p, pm)
				ratios = append(ratios, pm.uss/mm.uss)
			}
			fb = append(fb, idleMemory(b, bare))
			fl = append(fl, idleMemory(b, linked))
		}
	}

	b.ReportMetric(0, "ns/op") // an iteration is whole program runs: not a figure
	line := reportMemory(b, "mphost", m, true) + "; " + reportMemory(b, "floor-bare", fb, false) +
		"; " + reportMemory(b, "floor-linked", fl, false)
	if python != "" {
		line += "; " + reportMemory(b, "python", p, true)
		ratio := median(ratios)
		b.ReportMetric(ratio, "ratio")
		line += fmt.Sprintf("; ratio %.2f (python/mphost USS, median of %d rounds; >1: mphost's child is smaller)",
			ratio, len(ratios))
	} else {
		line += "; python3 not found, so the Python side is skipped"
	}
	b.Log(line)
	b.Logf("mphost child's private memory by mapping: %s", m[len(m)-1].topMappings(6))
	if python != "" {
		b.Logf("python child's private memory by mapping: %s", p[len(p)-1].topMappings(6))
	}
}

// reportMemory reports the medians of side's samples: SIDE-USS-MB (when
// withUSS), SIDE-anon-MB (Anonymous: memory not backed by a file, the USS
// less private pages of files) and SIDE-RSS-MB, and returns them as a log
// fragment. A floor program's USS counts its code, which nothing else maps,
// as its own, where an mphost child shares the binary's code with the host:
// so a floor's figure to compare is its anonymous memory.
func reportMemory(b *testing.B, side string, samples []memory, withUSS bool) string {
	uss := median(memoryField(samples, func(m memory) float64 { return m.uss }))
	anon := median(memoryField(samples, func(m memory) float64 { return m.anon }))
	rss := median(memoryField(samples, func(m memory) float64 { return m.rss }))
	line := fmt.Sprintf("%s anon %.2f MB, RSS %.1f", side, anon, rss)
	if withUSS {
		b.ReportMetric(uss, side+"-USS-MB")
		line = fmt.Sprintf("%s USS %.2f MB, ", side, uss) + strings.TrimPrefix(line, side+" ")
	}
	b.ReportMetric(anon, side+"-anon-MB")
	b.ReportMetric(rss, side+"-RSS-MB")
	return line
}

func memoryField(samples []memory, f func(memory) float64) []float64 {
	xs := make([]float64, len(samples))
	for i, s := range samples {
		xs[i] = f(s)
	}
	return xs
}

// memory is one process's memory, in MB of 2^20 bytes: its unique and
// resident set sizes, and its private memory by mapping.
type memory struct {
	uss, anon, rss float64
	private        map[string]float64
}

// topMappings formats the n largest entries of m.private, largest first.
func (m memory) topMappings(n int) string {
	names := make([]string, 0, len(m.private))
	for name := range m.private {
		names = append(names, name)
	}
	slices.SortFunc(names, func(x, y string) int { return cmp.Compare(m.private[y], m.private[x]) })
	var parts []string
	for _, name := range names[:min(n, len(names))] {
		parts = append(parts, fmt.Sprintf("%s %.2f", name, m.private[name]))
	}
	return strings.Join(parts, ", ")
}

// idleWait bounds the wait for an idle program's "PID" line, so that a hang
// fails the benchmark instead of stalling the run.
const idleWait = 60 * time.Second

// idleMemory runs argv in the workloads folder, waits for its "PID <pid>"
// line, reads that process's memory from /proc, then writes a line to the
// program's stdin, which ends it, and waits for it to exit.
func idleMemory(b *testing.B, argv ...string) memory {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*idleWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "workloads"
	cmd.WaitDelay = time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	run := filepath.Base(argv[0]) + " " + strings.Join(argv[1:], " ")
	if err := cmd.Start(); err != nil {
		b.Fatalf("%s: %v", run, err)
	}
	pids := make(chan int, 1)
	go func() {
		defer close(pids)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), "PID "); ok {
				if pid, err := strconv.Atoi(rest); err == nil {
					pids <- pid
					break
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	var mem memory
	var readErr error
	select {
	case pid, ok := <-pids:
		if !ok {
			readErr = fmt.Errorf("ended without a PID line")
			break
		}
		mem, readErr = readMemory(pid)
	case <-time.After(idleWait):
		readErr = fmt.Errorf("no PID line after %v", idleWait)
	}
	io.WriteString(stdin, "\n")
	stdin.Close()
	waitErr := cmd.Wait()
	if readErr != nil || waitErr != nil {
		b.Fatalf("%s: %v; exit: %v\nstderr:\n%s", run, readErr, waitErr, stderr.String())
	}
	return mem
}

// readMemory reads pid's USS and RSS from /proc/PID/smaps_rollup and its
// private memory by mapping from /proc/PID/smaps.
func readMemory(pid int) (memory, error) {
	proc := fmt.Sprintf("/proc/%d/", pid)
	rollup, err := os.ReadFile(proc + "smaps_rollup")
	if err != nil {
		return memory{}, err
	}
	kB := smapsFields(string(rollup))
	m := memory{
		uss:     (kB["Private_Clean"] + kB["Private_Dirty"]) / 1024,
		anon:    kB["Anonymous"] / 1024,
		rss:     kB["Rss"] / 1024,
		private: make(map[string]float64),
	}
	smaps, err := os.ReadFile(proc + "smaps")
	if err != nil {
		return memory{}, err
	}
	// A mapping is a header line (address range, perms, offset, device,
	// inode, then its path or [name], if any) followed by its fields.
	name := ""
	for line := range strings.Lines(string(smaps)) {
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			name = "[anonymous]"
			if len(fields) >= 6 {
				name = filepath.Base(strings.Join(fields[5:], " "))
			}
			if len(fields[1]) == 4 && fields[1][2] == 'x' {
				name += " (code)"
			}
			continue
		}
		if len(fields) == 3 && (fields[0] == "Private_Clean:" || fields[0] == "Private_Dirty:") {
			v, _ := strconv.ParseFloat(fields[1], 64)
			m.private[name] += v / 1024
		}
	}
	return m, nil
}

// smapsFields parses "Name: <n> kB" lines into kB by name.
func smapsFields(text string) map[string]float64 {
	kB := make(map[string]float64)
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[2] == "kB" {
			v, err := strconv.ParseFloat(fields[1], 64)
			if err == nil {
				kB[strings.TrimSuffix(fields[0], ":")] = v
			}
		}
	}
	return kB
}

// floorBinary builds bench/memfloor/NAME into the folder of the mphost
// binary and returns its path.
func floorBinary(b *testing.B, name string) string {
	b.Helper()
	mphostBinary(b) // makes built.dir
	path := filepath.Join(built.dir, "floor-"+name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	out, err := exec.Command("go", "build", "-o", path, "github.com/mphost/mphost/bench/memfloor/"+name).CombinedOutput()
	if err != nil {
		b.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return path
}

// BenchmarkVMHeap: the Go heap that one Lua state keeps live, in kB, as
// part of an idle child's memory: gopher-lua's lua.NewState with its
// defaults, without its libraries, with the sizes mphost's VM gives it, and
// mphost's whole VM (internal/vm.New, the `mp` bindings included). Each is
// the live heap after a collection, with the state kept, less the one
// before.
func BenchmarkVMHeap(b *testing.B) {
	states := []struct {
		name string
		make func() any
	}{
		{"lua-defaults", func() any { return lua.NewState() }},
		{"lua-no-libs", func() any { return lua.NewState(lua.Options{SkipOpenLibs: true}) }},
		{"lua-vm-sizes", func() any {
			// internal/vm's lua.Options.
			return lua.NewState(lua.Options{CallStackSize: 20000, RegistrySize: 1024,
				RegistryMaxSize: 1024 * 1024 * 16, RegistryGrowStep: 4096, MinimizeStackMemory: true})
		}},
		{"vm", func() any {
			return vm.New(vm.Options{Stdout: io.Discard, Stderr: io.Discard, StopsAtWaitsOnly: true})
		}},
	}
	live := make(map[string][]float64)
	for b.Loop() {
		for _, s := range states {
			before := liveHeap()
			heapSink = append(heapSink, s.make())
			live[s.name] = append(live[s.name], float64(liveHeap()-before)/1024)
		}
		heapSink = nil
	}
	b.ReportMetric(0, "ns/op") // the figures are bytes kept, not time
	var parts []string
	for _, s := range states {
		kB := median(live[s.name])
		b.ReportMetric(kB, s.name+"-kB")
		parts = append(parts, fmt.Sprintf("%s %.0f kB", s.name, kB))
	}
	b.Logf("live heap of one state: %s", strings.Join(parts, ", "))
}

// heapSink keeps BenchmarkVMHeap's states live while it measures them.
var heapSink []any

// liveHeap is the heap in use after two collections (the second frees
// what the first's finalizers released).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
