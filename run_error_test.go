package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// raiseWhileChildBlocks raises in the main script while a non-daemon child
// blocks on a queue no one will put to.
const raiseWhileChildBlocks = `
local mp = require("mp")
local q = mp.Queue()
local p = mp.Process{target = function(q) q:get() end, args = {q}}
p:start()
error("the main script failed")
`

// A main script that raises while a non-daemon child runs prints its error
// at once, then waits for the child (as Python prints the traceback before
// it joins); Ctrl-C still ends the wait.
func TestErrorPrintedBeforeWaitingForChildren(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"raise.lua": raiseWhileChildBlocks})
	s := startSession(t, dir, nil, true, "run", "raise.lua")
	line, ok := s.errBuf.next(30*time.Second, s.exited)
	if !ok {
		t.Fatalf("no line on stderr within 30s while the child blocks (exited: %v)\nstderr:\n%s", s.hasExited(), s.stderr())
	}
	if !strings.Contains(line, "raise.lua:6: the main script failed") {
		t.Fatalf("first stderr line %q, want the script's error", line)
	}
	if s.hasExited() {
		t.Fatalf("exited before its non-daemon child ended\nstderr:\n%s", s.stderr())
	}
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t, 30*time.Second); code != exitInterrupt {
		t.Errorf("exit = %d after SIGINT, want %d\nstderr:\n%s", code, exitInterrupt, s.stderr())
	}
	if n := strings.Count(s.stderr(), "the main script failed"); n != 1 {
		t.Errorf("the error is printed %d times, want once:\n%s", n, s.stderr())
	}
}
