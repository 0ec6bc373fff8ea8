package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// memoryScript allocates in a process with a limit of 64 MB (it stops at
// 400 MB), in one with a limit of its own above the run's (it allocates
// 100 MB), and in a pool task under the run's limit (--memory-limit 64MB),
// between two tasks that allocate little, and in a pool whose own limit is
// above the run's (a task allocates 100 MB).
const memoryScript = `local mp = require("mp")
local function hog(mb)
  local t = {}
  for i = 1, mb * 1024 do t[i] = string.rep("x", 1000) .. i end
  return #t
end
local p = mp.Process{name = "hog", target = hog, args = {400}, memory_limit = "64MB"}
p:start() ; p:join()
print("hog", p.exitcode)
local big = mp.Process{name = "big", target = hog, args = {100}, memory_limit = "1GB"}
big:start() ; big:join()
print("big", big.exitcode)
local pool = mp.Pool(1)
for _, mb in ipairs({1, 400, 2}) do
  local ok, err = pcall(pool.apply, pool, hog, {mb})
  print("task", mb, ok, ok and err or err:match("died: .*"))
end
pool:close() ; pool:join()
local roomy = mp.Pool{processes = 1, memory_limit = "1GB"}
print("roomy", roomy:apply(hog, {100}))
roomy:close() ; roomy:join()
`

// TestMemoryLimit: a process over its memory limit ends with exitcode -9
// and one line naming it and its limit, never the Go runtime's report; a
// pool task over the limit fails alone.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"memory.lua": memoryScript})
	r := invocation{args: []string{"run", "--memory-limit", "64MB", "memory.lua"}, dir: dir, timeout: 3 * time.Minute}.run(t)
	want := "hog\t-9\nbig\t0\ntask\t1\ttrue\t1024\n" +
		"task\t400\tfalse\tdied: killed by signal 9 (SIGKILL)\ntask\t2\ttrue\t2048\nroomy\t102400\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 0, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	line := regexp.MustCompile(`^Process (hog|PoolWorker-\d+) \(pid \d+\) ran out of memory: its heap passed its limit of 64 MB \(exitcode -9\)$`)
	if len(lines) != 2 || !line.MatchString(lines[0]) || !line.MatchString(lines[1]) {
		t.Errorf("stderr, want two lines naming the processes and their limit:\n%s", r.stderr)
	}
}

// systemMemoryScript starts a process that prints its pid and, once the
// main script has read a line, allocates up to 1 GB.
const systemMemoryScript = `local mp = require("mp")
local q = mp.Queue()
local p = mp.Process{name = "hog", target = function()
  print("pid " .. mp.current_process().pid)
  q:get()
  local t = {}
  for i = 1, 1024 * 1024 do t[i] = string.rep("x", 1000) .. i end
end}
p:start()
io.read()
q:put(1)
p:join()
print("hog " .. p.exitcode)
`

// TestSystemOutOfMemoryNamed: a child for which the system has no more
// memory (here its address space is capped with prlimit) ends with
// exitcode -9 and one line naming it; the Go runtime's report of hundreds
// of lines goes to the file that line names.
func TestSystemOutOfMemoryNamed(t *testing.T) {
	t.Parallel()
	if raceEnabled() {
		// The race detector's runtime reserves its own shadow memory and
		// dies its own way under an address-space cap.
		t.Skip("the binary is built with -race: its children cannot run under RLIMIT_AS")
	}
	dir := writeFiles(t, map[string]string{"system.lua": systemMemoryScript})
	tmp := shortTempDir(t)
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "system.lua")
	pid, err := strconv.Atoi(strings.TrimPrefix(s.nextLine(t, 30*time.Second, "pid "), "pid "))
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	vm := regexp.MustCompile(`VmSize:\s+(\d+) kB`).FindSubmatch(status)
	if vm == nil {
		t.Fatalf("no VmSize in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseUint(string(vm[1]), 10, 64)
	limit := &unix.Rlimit{Cur: (kb + 300<<10) << 10, Max: (kb + 300<<10) << 10}
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, limit, nil); err != nil {
		t.Fatal(err)
	}
	s.answer(t)
	s.nextLine(t, 60*time.Second, "hog -9")
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	line := regexp.MustCompile(`^Process hog \(pid ` + strconv.Itoa(pid) + `\) ran out of memory: the system had no more for it \(exitcode -9\); the Go runtime's report is in (\S+)\n$`)
	m := line.FindStringSubmatch(s.stderr())
	if m == nil {
		t.Fatalf("stderr, want one line naming the process and its report:\n%.2000s", s.stderr())
	}
	report, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(report), "out of memory") || !strings.Contains(string(report), "goroutine ") {
		t.Errorf("the report %s (%v) lacks the runtime's report:\n%.500s", m[1], err, report)
	}
}
