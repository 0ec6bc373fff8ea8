package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests of this file start many processes, or start them where socket
// paths run long, and check what the host holds and leaves behind:
// children, zombies, descriptors, files in TMPDIR. See process_api_test.go
// for what all the process_*_test.go files share.

// fdsPerChild is how many descriptors the host may hold for one live
// child (a pidfd, its output pipes, its sockets and brokered connections; 9
// when measured), with one to spare. A host that keeps idle children for
// reuse holds these for each; anything beyond is a leak.
const fdsPerChild = 10

func TestManyProcessesLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	const rounds, perRound = 5, 60
	// Each round starts 60 processes that are alive together: a quarter
	// return, a quarter fail, a quarter os.exit(2), a quarter are
	// terminated. The script waits on stdin after each round, while the test
	// looks at the host.
	dir := writeFiles(t, map[string]string{"many.lua": fmt.Sprintf(`local mp = require("mp")
local function work(kind)
  if kind == 3 then mp.sleep(60) end
  mp.sleep(0.2)
  if kind == 1 then error("failing on purpose") end
  if kind == 2 then os.exit(2) end
end
local want = {[0] = 0, [1] = 1, [2] = 2, [3] = -15}
print("ready")
io.read("*l")
for round = 1, %d do
  local ps = {}
  for i = 1, %d do
    ps[i] = mp.Process{target = work, args = {i %% 4}}
    ps[i]:start()
  end
  for i = 3, #ps, 4 do ps[i]:terminate() end
  local bad, pids = {}, {}
  for i, p in ipairs(ps) do
    p:join()
    if p.exitcode ~= want[i %% 4] then bad[#bad + 1] = p.name .. "=" .. tostring(p.exitcode) end
    pids[i] = p.pid
    p:close()
  end
  print("round " .. round .. " bad [" .. table.concat(bad, " ") .. "] active " .. #mp.active_children() .. " pids " .. table.concat(pids, " "))
  io.read("*l")
end
print("done")
`, rounds, perRound)})
	tmp := shortTempDir(t)
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "many.lua")
	s.nextLine(t, 30*time.Second, "ready")
	host := s.cmd.Process.Pid
	baseFDs := fdCount(t, host)

	seen := map[int]bool{} // every process of the run the test saw
	for round := 1; round <= rounds; round++ {
		s.answer(t)
		line := s.nextLine(t, 60*time.Second, "round ")
		head, pidList, _ := strings.Cut(line, " pids ")
		if want := fmt.Sprintf("round %d bad [] active 0", round); head != want {
			t.Errorf("%q, want %q", head, want)
		}
		pids := fieldsToPids(t, pidList)
		if len(pids) != perRound {
			t.Errorf("round %d: %d pids, want %d", round, len(pids), perRound)
		}
		for _, pid := range pids {
			seen[pid] = true
		}
		// The joined processes are reaped, and the host holds no more
		// descriptors than its live children explain.
		var live, zombies []int
		var fds int
		ok := poll(30*time.Second, func() bool {
			live, zombies = childrenOf(host)
			fds = fdCount(t, host)
			return len(zombies) == 0 && fds <= filesAllowed(baseFDs, nil, live)
		})
		for _, pid := range live {
			seen[pid] = true
		}
		if !ok {
			t.Errorf("after round %d: %d live children, zombies %v, %d descriptors (%d before the first round, at most %d per live child allowed)\n%s",
				round, len(live), zombies, fds, baseFDs, fdsPerChild, fdList(host))
		}
		t.Logf("after round %d: %d live children of the host, %d descriptors", round, len(live), fds)
	}
	s.answer(t)
	s.nextLine(t, 60*time.Second, "done")
	if code := s.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit = %d, want 0", code)
	}
	// 75 processes failed, each printing its name, pid and traceback.
	if n := strings.Count(s.stderr(), "failing on purpose\nstack traceback:\n"); n != rounds*perRound/4 {
		t.Errorf("stderr has %d tracebacks, want %d:\n%s", n, rounds*perRound/4, s.stderr())
	}
	if left := stillRunning(seen, 20*time.Second); len(left) > 0 {
		t.Errorf("after the run, workers %v are still running", left)
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the run left %v in its TMPDIR (%v)", names, err)
	}
}

// TestProcessStartWithLongTMPDIR runs a process with TMPDIR set to
// t.TempDir(), a path of 50-odd bytes, and to a path of 60 bytes.
func TestProcessStartWithLongTMPDIR(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"one.lua": `local mp = require("mp")
local p = mp.Process{target = function() print("child ran") end}
p:start()
p:join()
print("exitcode", p.exitcode)
`})
	base := shortTempDir(t)
	long := filepath.Join(base, strings.Repeat("d", max(1, 60-len(base)-1)))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tmp := range []string{t.TempDir(), long} {
		for range 3 {
			r := runWithEnv(t, dir, []string{"TMPDIR=" + tmp}, "run", "one.lua")
			if r.code != 0 || r.stdout != "child ran\nexitcode\t0\n" {
				t.Fatalf("with TMPDIR=%s (%d bytes): exit %d, stdout %q, stderr:\n%s", tmp, len(tmp), r.code, r.stdout, r.stderr)
			}
		}
	}
}

func TestHundredAliveAtOnce(t *testing.T) {
	t.Parallel()
	// Each child says it is alive with a file, then waits for the go file:
	// none can end before all 100 are alive.
	dir := writeFiles(t, map[string]string{"hundred.lua": `local mp = require("mp")
local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end
local function wait_for(test) -- up to 2 minutes: starting 100 under -race on 2 loaded cores is slow
  for _ = 1, 2400 do
    if test() then return true end
    mp.sleep(0.05)
  end
  return false
end
local function child(i)
  io.open("alive-" .. i, "w"):close()
  if not wait_for(function() return exists("go") end) then os.exit(2) end
end
local ps = {}
for i = 1, 100 do
  ps[i] = mp.Process{target = child, args = {i}}
  ps[i]:start()
end
local all = wait_for(function()
  for i = 1, 100 do if not exists("alive-" .. i) then return false end end
  return true
end)
print("all alive", all, #mp.active_children())
local pids = {}
for _, p in ipairs(ps) do pids[p.pid] = true end
local distinct = 0
for _ in pairs(pids) do distinct = distinct + 1 end
print("distinct pids", distinct)
io.open("go", "w"):close()
local ok = 0
for _, p in ipairs(ps) do
  if p:join(30) and p.exitcode == 0 then ok = ok + 1 end
end
print("exit 0", ok, #mp.active_children())
`})
	r := invocation{args: []string{"run", "hundred.lua"}, dir: dir, timeout: 5 * time.Minute}.run(t)
	r.expect(t, 0, "all alive\ttrue\t100\ndistinct pids\t100\nexit 0\t100\t0\n", "")
}

// runWithEnv runs the binary to its end with extra environment variables,
// as invocation.run does without them.
func runWithEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	s := startSession(t, dir, env, false, args...)
	code := s.wait(t, runTimeout)
	return result{stdout: s.stdout(), stderr: s.stderr(), code: code}
}

func fieldsToPids(t *testing.T, s string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %q", f, s)
		}
		pids = append(pids, pid)
	}
	return pids
}

// fdCount is the number of open descriptors of a process.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("reading the descriptors of pid %d: %v", pid, err)
	}
	return len(entries)
}

// fdList describes the open descriptors of a process by what they point
// at, with counts, for a failure message.
func fdList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	counts := map[string]int{}
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		kind, _, _ := strings.Cut(target, "[")
		counts[kind]++
	}
	return fmt.Sprint(counts)
}

// TestStaleRunFolderRemoved: a host killed with SIGKILL cannot remove its
// run folder; the next host that starts a process removes the folders of
// hosts that are gone (their names carry the host's pid).
func TestStaleRunFolderRemoved(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	tmp := shortTempDir(t)
	stale := filepath.Join(tmp, fmt.Sprintf("mphost-%d-123", dead.Process.Pid))
	if err := os.MkdirAll(filepath.Join(stale, "plugin-dir1"), 0o700); err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"one.lua": `local mp = require("mp")
local p = mp.Process{target = function() end}
p:start()
p:join()
print(p.exitcode)
`})
	runWithEnv(t, dir, []string{"TMPDIR=" + tmp}, "run", "one.lua").expect(t, 0, "0\n", "")
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("TMPDIR still holds %v", entries)
	}
}

// objectsScript runs 500 processes one after the other, each using a
// Pipe, a Queue, a Lock and an Event that the main script made for it
// (and closes after the join, both ends of the pipe, as Python's parent
// closes its copies). Before and after them, a burst of 20 processes at
// once fills the host's idle children past what it keeps, so that at rest
// it keeps the same number at both points.
const objectsScript = `local mp = require("mp")
local function work(conn, q, lock, ev)
  conn:send("hi")
  q:put(1)
  lock:acquire()
  lock:release()
  ev:set()
end
local function burst()
  local ps = {}
  for i = 1, 20 do ps[i] = mp.Process{target = function() end} ps[i]:start() end
  for _, p in ipairs(ps) do p:join() end
end
burst()
print("before")
io.read()
for i = 1, 500 do
  local a, b = mp.Pipe()
  local q, lock, ev = mp.Queue(), mp.Lock(), mp.Event()
  local p = mp.Process{target = work, args = {b, q, lock, ev}}
  p:start()
  assert(a:recv() == "hi" and q:get() == 1 and ev:wait(60))
  p:join()
  a:close()
  b:close()
end
burst()
print("after")
io.read()
`

// TestObjectsOfManyProcessesGiveBackFiles: after 500 processes that each
// used a Pipe, a Queue, a Lock and an Event, the host's open descriptors
// come back to their count before them, once it keeps as many idle
// children as before (each holds fdsPerChild or so: counts taken with
// different numbers of idle children differ by that, not by a leak).
func TestObjectsOfManyProcessesGiveBackFiles(t *testing.T) {
	t.Parallel()
	minIdle := max(4, 2*runtime.NumCPU()) // host.minIdle: the idle children kept at rest
	dir := writeFiles(t, map[string]string{"objects.lua": objectsScript})
	s := startSession(t, dir, nil, false, "run", "objects.lua")
	host := s.cmd.Process.Pid
	atRest := func(what string, ok func(fds int) bool) int {
		var live, zombies []int
		var fds int
		if !poll(30*time.Second, func() bool {
			live, zombies = childrenOf(host)
			fds = fdCount(t, host)
			return len(live) == minIdle && len(zombies) == 0 && ok(fds)
		}) {
			t.Fatalf("%s: %d children (want %d at rest), zombies %v, %d descriptors: %s", what, len(live), minIdle, zombies, fds, fdList(host))
		}
		return fds
	}
	s.nextLine(t, 60*time.Second, "before")
	before := atRest("before", func(int) bool { return true })
	s.answer(t)
	s.nextLine(t, 5*time.Minute, "after")
	after := atRest("after 500 processes", func(fds int) bool { return fds <= before+2 })
	t.Logf("%d descriptors before, %d after, with %d idle children", before, after, minIdle)
	s.answer(t)
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d, stderr:\n%s", code, s.stderr())
	}
}
