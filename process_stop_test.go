package main

import (
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopScript starts a process that prints its pid and sleeps; the test
// stops it (SIGSTOP) and answers on stdin. arg[1] says what happens then:
//
//	end, error    the main script's daemon; the script ends, or raises
//	timeout       the main script's non-daemon; run with --timeout
//	child, child_exit
//	              the daemon of a child, which then ends (or calls
//	              os.exit); the main script joins it, prints "joined" and
//	              reads stdin again
//	pool          a pool task; the script ends without closing the pool
const stopScript = `local mp = require("mp")
local mode = arg[1]
local function sleeper()
  print("pid " .. mp.current_process().pid)
  mp.sleep(600)
end
if mode == "child" or mode == "child_exit" then
  local go = mp.Event()
  local c = mp.Process{target = function()
    mp.Process{target = sleeper, daemon = true}:start()
    go:wait()
    if mode == "child_exit" then os.exit(0) end
  end}
  c:start()
  io.read()
  go:set()
  c:join()
  print("joined " .. c.exitcode)
elseif mode == "pool" then
  local pool = mp.Pool(1)
  pool:apply_async(sleeper, {})
else
  mp.Process{target = sleeper, daemon = mode ~= "timeout"}:start()
end
io.read()
if mode == "error" then error("the script fails") end
print("end")
`

// TestStoppedChildDoesNotHoldTheRun: a child stopped with SIGSTOP ignores
// SIGTERM until it is continued, so every way the host ends children sends
// SIGKILL after a grace; the run exits within a bound and leaves nothing.
func TestStoppedChildDoesNotHoldTheRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode  string
		flags []string
		code  int
	}{
		{"end", nil, 0},
		{"error", nil, 1},
		{"child", nil, 0},
		{"child_exit", nil, 0},
		{"pool", nil, 0},
		{"timeout", []string{"--timeout", "3s"}, 124},
	}
	dir := writeFiles(t, map[string]string{"stop.lua": stopScript})
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"run"}, tt.flags...), "stop.lua", tt.mode)
			s := startSession(t, dir, nil, false, args...)
			pid, err := strconv.Atoi(strings.TrimPrefix(s.nextLine(t, 30*time.Second, "pid "), "pid "))
			if err != nil {
				t.Fatal(err)
			}
			workers, _ := childrenOf(s.cmd.Process.Pid)
			if !slices.Contains(workers, pid) {
				t.Fatalf("pid %d is not a child of the host; its children: %v", pid, workers)
			}
			t.Cleanup(func() { killWorkers(workers) })
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			if !poll(10*time.Second, func() bool { state, _, _ := procStat(pid); return state == 'T' }) {
				t.Fatalf("pid %d did not stop", pid)
			}
			s.answer(t)
			if strings.HasPrefix(tt.mode, "child") {
				// The child's end ends its stopped daemon, before the run ends.
				s.nextLine(t, 20*time.Second, "joined 0")
				if left := stillRunning(setOf([]int{pid}), 10*time.Second); len(left) > 0 {
					t.Errorf("the stopped daemon %d still runs after its parent ended", pid)
				}
				s.answer(t)
			}
			if code := s.wait(t, 20*time.Second); code != tt.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.code, s.stderr())
			}
			if left := stillRunning(setOf(workers), 20*time.Second); len(left) > 0 {
				t.Errorf("children %v of the host still run after it exited", left)
			}
		})
	}
}
