package main

import (
	"fmt"
	"strings"
	"testing"
)

// The tests of the process_*_test.go files run processes through the built
// binary, and check what the operating system sees as well as what the
// scripts print: pids, exit statuses, signals, open descriptors, leftover
// files. None of them sleeps to wait for another process; each waits for a
// line, a file or an exit, with a bound, so that a hang fails in seconds.
//
// The Process API itself is tested by the scripts/process_*.lua scripts
// (run by TestScripts); these files hold what a script cannot see. The test
// of this file checks the pid that a failing child's report names. The
// others: process_resources_test.go (what many processes leave behind),
// process_fault_test.go (a host killed, interrupted or timed out),
// process_output_test.go (what children write). Their helpers, shared with
// the pool and objects tests, are in helpers_test.go.

// TestUncaughtErrorReportNamesThePid: the report of a child's uncaught
// error starts with its name and its pid, the pid the parent saw
// (scripts/process_api.err checks the rest of the report, pids masked).
func TestUncaughtErrorReportNamesThePid(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"fail.lua": `local mp = require("mp")
local p = mp.Process{target = function() error("boom") end}
p:start()
p:join()
print(p.pid, p.exitcode)
`})
	r := mphost(t, dir, "run", "fail.lua")
	var pid, code int
	if _, err := fmt.Sscanf(r.stdout, "%d\t%d\n", &pid, &code); err != nil || r.code != 0 || code != 1 {
		t.Fatalf("exit %d, stdout %q, want 0 and \"PID\\t1\"; stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	want := fmt.Sprintf("Process Process-1 (pid %d):\nfail.lua:2: boom\nstack traceback:\n", pid)
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr:\n%s\nwant it to start:\n%s", r.stderr, want)
	}
}
