package main

import (
	"io"
	"testing"
	"time"
)

// dropsScript sends pipes in carriers that are then dropped undelivered:
// queues dropped with their items unread (filled here, and by a child that
// gets its queue through another), a pipe message never received, a
// Value's content overwritten. After
// "done", each "gc" line collects and reports.
const dropsScript = `local mp = require("mp")
local function fill(q, k)
  for i = 1, k do q:put({mp.Pipe()}) end
end
local function child(k) -- it fills a queue the main script drops
  local q = mp.Queue()
  jobs:put(q)
  local p = mp.Process{target = function(jobs, k) fill(jobs:get(), k) end, args = {jobs, k}}
  p:start() ; p:join() ; assert(p.exitcode == 0)
end
jobs = mp.Queue()
local q = mp.Queue() ; fill(q, 1) ; q:get()
child(1)
print("ready") ; io.read()
local k = tonumber(arg[1])
for i = 1, k do fill(mp.Queue(), 1) end
child(k)
for i = 1, k do
  local a, b = mp.Pipe()
  a:send({mp.Pipe()})
  local v = mp.Value(0)
  v:set({mp.Pipe()}) ; v:set(i)
end
print("done")
while io.read() == "gc" do
  collectgarbage() ; mp.Event():set()
  print("collected")
end
`

// TestDroppedCarriersFreeWhatTheyCarry: pipes sent in queues that are
// dropped unread, in pipe messages never received and in a Value's
// content overwritten are freed with their carriers: the host's open files
// come back within a few of where they were (each pipe the host kept would
// hold two).
func TestDroppedCarriersFreeWhatTheyCarry(t *testing.T) {
	s := startReadyRun(t, "drops.lua", dropsScript, "60")
	pid := s.cmd.Process.Pid
	fds0 := fdCount(t, pid)
	kids0, _ := childrenOf(pid)
	s.answer(t)
	s.nextLine(t, 5*time.Minute, "done")
	kids1, _ := childrenOf(pid)
	allowed := filesAllowed(fds0, kids0, kids1)
	fds1 := collectUntil(t, s, pid, allowed)
	t.Logf("open files %d, then %d (%d children, then %d)", fds0, fds1, len(kids0), len(kids1))
	if fds1 > allowed {
		t.Errorf("%d files open after, %d before: %s", fds1, fds0, fdList(pid))
	}
	if code := s.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, s.stderr())
	}
}

// collectUntil has the script of s collect its garbage ("gc", answered
// "collected") until the host, pid, has at most allowed files open, for a
// minute at most, and returns its open files.
func collectUntil(t *testing.T, s *session, pid, allowed int) int {
	t.Helper()
	fds := fdCount(t, pid)
	for deadline := time.Now().Add(time.Minute); fds > allowed && time.Now().Before(deadline); fds = fdCount(t, pid) {
		if _, err := io.WriteString(s.stdin, "gc\n"); err != nil {
			t.Fatal(err)
		}
		s.nextLine(t, time.Minute, "collected")
	}
	return fds
}
