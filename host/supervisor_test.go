package host

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// threads counts this process's OS threads.
func threads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := bytes.Cut(status, []byte("\nThreads:"))
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	n, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		t.Fatalf("no thread count in /proc/self/status: %v", err)
	}
	return n
}

// Each host forks its children from a thread of its own (for Pdeathsig),
// which its Close ends once every child is reaped: a program that makes
// host after host keeps no thread for each. The Go runtime keeps the other
// threads it made for reuse, so after a first host the count stays flat.
func TestClosedHostsLeaveNoThread(t *testing.T) {
	run := func() {
		h := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
		err := runScript(t, h, `
			local mp = require("mp")
			local p = mp.Process{target = function() end}
			p:start()
			p:join()`)
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	run()
	before := threads(t)
	const hosts = 6
	for range hosts {
		run()
	}
	after := threads(t)
	t.Logf("%d threads after %d more hosts were closed, %d before", after, hosts, before)
	if after >= before+hosts {
		t.Errorf("%d threads after %d more hosts were closed, %d before", after, hosts, before)
	}
}
