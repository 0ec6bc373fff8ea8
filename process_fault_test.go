package main

import (
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of this file end the host while its children run (kill -9,
// SIGINT, SIGTERM, --timeout), and check that the children end with it. See
// process_api_test.go for what all the process_*_test.go files share.

// childrenScript starts n children that print their pids and sleep long;
// the main script then waits for them, or with the argument "busy" spins,
// or with "recv" waits in a pipe's recv, as the children do.
const childrenScript = `local mp = require("mp")
local n = tonumber(arg[1])
local mode = arg[2]
local a, b = mp.Pipe()
local ps = {}
for i = 1, n do
  ps[i] = mp.Process{target = function()
    print("pid " .. mp.current_process().pid)
    if mode == "recv" then b:recv() else mp.sleep(600) end
  end}
  ps[i]:start()
end
if mode == "busy" then while true do end end
if mode == "recv" then a:recv() end
for _, p in ipairs(ps) do p:join() end
print("joined")
`

// startChildren starts the binary on childrenScript and returns once every
// child has printed its pid, with the pids of all the host's children then.
func startChildren(t *testing.T, n int, setpgid bool, mode string) (*session, []int) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"children.lua": childrenScript})
	s := startSession(t, dir, nil, setpgid, "run", "children.lua", strconv.Itoa(n), mode)
	var pids []int
	for range n {
		pid, err := strconv.Atoi(strings.TrimPrefix(s.nextLine(t, 30*time.Second, "pid "), "pid "))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	host := s.cmd.Process.Pid
	live, _ := childrenOf(host)
	for _, pid := range pids {
		if !slices.Contains(live, pid) {
			t.Fatalf("pid %d is not a running child of the host (pid %d); its children: %v", pid, host, live)
		}
	}
	t.Cleanup(func() { killWorkers(live) })
	return s, live
}

func TestKillHostLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	// PID 1 of a container may not reap orphans; as their subreaper, the
	// test reaps them itself, and tells a zombie from a running process.
	becomeSubreaper(t)
	s, workers := startChildren(t, 5, false, "")
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	left := stillRunning(setOf(workers), 20*time.Second)
	if len(left) > 0 {
		t.Errorf("20s after kill -9 of the host, its children %v are still running", left)
	} else {
		t.Logf("all %d children of the host ended %v after it was killed", len(workers), time.Since(killed).Round(time.Millisecond))
	}
	s.wait(t, 20*time.Second)
}

func TestInterruptExits130(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode string // "busy": the main script spins instead of joining
		sig  syscall.Signal
		// group sends the signal to the host's process group, as a
		// terminal's Ctrl-C does; otherwise to the host alone.
		group bool
		code  int
	}{
		{"SIGINT to the group", "", syscall.SIGINT, true, 130},
		{"SIGINT to the group while the script spins", "busy", syscall.SIGINT, true, 130},
		{"SIGINT to the group while all wait in a pipe's recv", "recv", syscall.SIGINT, true, 130},
		{"SIGTERM to the host", "", syscall.SIGTERM, false, 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, workers := startChildren(t, 3, true, tt.mode)
			pid := s.cmd.Process.Pid
			if tt.group {
				pid = -pid
			}
			if err := syscall.Kill(pid, tt.sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			code := s.wait(t, 20*time.Second)
			t.Logf("exited %d after %v", code, time.Since(sent).Round(time.Millisecond))
			if code != tt.code {
				t.Errorf("exit = %d, want %d", code, tt.code)
			}
			if n := strings.Count(s.stderr(), "\n"); n > 1 || (n == 0 && s.stderr() != "") {
				t.Errorf("stderr has %d lines, want at most one:\n%s", n, s.stderr())
			}
			if strings.Contains(s.stdout(), "joined") {
				t.Errorf("the script went on after the signal:\n%s", s.stdout())
			}
			if left := stillRunning(setOf(workers), 20*time.Second); len(left) > 0 {
				t.Errorf("children %v of the host still run after it exited", left)
			}
		})
	}
}

func TestTimeoutFlag(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"forever.lua": `local mp = require("mp")
local p = mp.Process{target = function() mp.sleep(600) end}
p:start()
print("pid " .. p.pid)
p:join()
print("joined")
`})
	start := time.Now()
	// 2s: the first child of a run, a race-enabled binary, can take more
	// than 300ms to start when the machine is busy (two test runs at once).
	// The child would sleep 600s: a run that ends well before that ended
	// at the timeout, however loaded the machine is.
	r := invocation{args: []string{"run", "--timeout", "2s", "forever.lua"}, dir: dir, timeout: 2 * time.Minute}.run(t)
	took := time.Since(start)
	if took > time.Minute {
		t.Errorf("the run took %v with --timeout 2s", took)
	}
	if r.code != 124 {
		t.Errorf("exit = %d, want 124", r.code)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.Contains(r.stderr, "2s") {
		t.Errorf("stderr = %q, want one line that names the 2s", r.stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.stdout, "pid "), "\n"))
	if err != nil {
		t.Fatalf("stdout = %q, want only the child's pid", r.stdout)
	}
	if left := stillRunning(setOf([]int{pid}), 20*time.Second); len(left) > 0 {
		killWorkers(left)
		t.Errorf("the child %d still runs after the host timed out", pid)
	}
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// becomeSubreaper makes the test process the one that orphans of its
// descendants are given to, instead of PID 1.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
}
