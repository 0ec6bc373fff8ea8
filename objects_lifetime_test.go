package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lifetimeScript makes and drops objects: a warm-up, then (after "ready")
// N objects in the main script, N/50 in a child and 30 000 pipes dropped
// unclosed; "done" says the highest index that the N objects took. After
// it, each "gc" line collects and reports.
const lifetimeScript = `local mp = require("mp")
local n, top = tonumber(arg[1]), 0
local function index(obj) return tonumber(tostring(obj):match("(%d+)>$")) % 2^32 end
local function churn(k)
  for i = 1, k, 4 do
    local l, q, e, v = mp.Lock(), mp.Queue(), mp.Event(), mp.Value(i)
    top = math.max(top, index(l), index(q), index(e), index(v))
  end
end
local function pipes(k, close)
  for i = 1, k do
    local a, b = mp.Pipe()
    if i % 1000 == 0 then a:send(i) ; assert(b:recv() == i) end
    if close then a:close() ; b:close() end
  end
end
local function child(k)
  local p = mp.Process{target = churn, args = {k}}
  p:start() ; p:join() ; assert(p.exitcode == 0)
end
churn(n / 10) ; pipes(3000, true) ; child(100)
print("ready") ; io.read()
top = 0 ; churn(n)
child(n / 50) ; pipes(30000)
print("done", top)
while io.read() == "gc" do
  collectgarbage() ; mp.Event():set()
  print("collected")
end
`

// TestDroppedObjectsAreFreed: 200 000 objects (a million with
// MPHOST_BIG_TESTS=1, 50 000 under the race detector) made and dropped in
// the main script (and a fiftieth of that in a child), then 30 000 pipes
// dropped unclosed, leave the host's RSS less than 100 MB above where it
// was after a warm-up (which closes its pipes and runs a child), and its
// open files back within a few of that: the objects nothing holds are
// freed, their ids and slots reused (they take fewer indexes than there
// are objects), and a pipe made when files run out collects the dropped
// ones first.
func TestDroppedObjectsAreFreed(t *testing.T) {
	t.Parallel()
	n := 200000
	switch {
	case raceEnabled():
		n /= 4 // the race detector makes each object ~10 times slower
	case bigTests():
		n = 1000000
	}
	s := startReadyRun(t, "lifetime.lua", lifetimeScript, strconv.Itoa(n))
	pid := s.cmd.Process.Pid
	rss0, fds0 := rssBytes(t, pid), fdCount(t, pid)
	kids0, _ := childrenOf(pid)
	s.answer(t)
	top, _ := strconv.Atoi(strings.Fields(s.nextLine(t, 10*time.Minute, "done"))[1])
	// Made one after the other, n objects never freed would take n
	// indexes.
	if top >= n {
		t.Errorf("%d objects made and dropped took indexes up to %d: they were not freed and reused", n, top)
	}
	rss1 := rssBytes(t, pid)
	kids1, _ := childrenOf(pid)
	allowed := filesAllowed(fds0, kids0, kids1)
	fds1 := collectUntil(t, s, pid, allowed)
	t.Logf("host RSS %d MB after the warm-up, %d MB after; open files %d, then %d (%d children, then %d); indexes up to %d",
		rss0>>20, rss1>>20, fds0, fds1, len(kids0), len(kids1), top)
	// The race detector's shadow memory grows with every allocation and is
	// not given back: RSS says nothing of leaks under it.
	if rss1 > rss0+100<<20 && !raceEnabled() {
		t.Errorf("host RSS grew by %d MB, want under 100", (rss1-rss0)>>20)
	}
	if fds1 > allowed {
		t.Errorf("%d files open after, %d before: %s", fds1, fds0, fdList(pid))
	}
	if code := s.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, s.stderr())
	}
}

// startReadyRun writes src to a script named name in a short temporary
// folder, runs it with args, and returns once it has printed "ready".
func startReadyRun(t *testing.T, name, src string, args ...string) *session {
	t.Helper()
	dir := shortTempDir(t)
	script := filepath.Join(dir, name)
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, dir, nil, false, append([]string{"run", script}, args...)...)
	s.nextLine(t, 2*time.Minute, "ready")
	return s
}

// filesAllowed is how many files a host that had fds0 open with the
// children kids0 may have open with the children kids1: a few more, and
// fdsPerChild for each child more, since a child the host keeps started
// for the next process holds its files.
func filesAllowed(fds0 int, kids0, kids1 []int) int {
	return fds0 + 4 + fdsPerChild*max(len(kids1)-len(kids0), 0)
}

// rssBytes is the resident memory of a process, from /proc/PID/status.
func rssBytes(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
