package host

import (
	"bytes"
	"context"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/vm"
)

// TestMain lets the test binary serve as the children of the hosts it
// tests: the host re-executes its own binary in worker mode.
func TestMain(m *testing.M) {
	ServeChild()
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer that the host's writers may share.
type syncBuffer struct{ bytes.Buffer }

// runScript runs src in h, bounded at 2 minutes: a bound against a hang,
// not a speed (packages test side by side on a loaded machine). A run cut
// short stops h's processes, which a deferred Close would wait for.
func runScript(t *testing.T, h *Host, src string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := h.RunString(ctx, "job.lua", src)
	return err
}

func TestEmbeddedHostRunsChildren(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut, Prefix: true})
	err := runScript(t, h, `
		local mp = require("mp")
		for i = 1, 3 do
			mp.Process{target = function(n) print("child", n) end, args = {i}, name = "w" .. i}:start()
		end
		print("main")`)
	if err != nil {
		t.Fatal(err)
	}
	runDir := h.children.dir
	h.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	sort.Strings(lines)
	if len(lines) != 4 || lines[3] != "main" {
		t.Fatalf("output:\n%s", out.String())
	}
	for i, line := range lines[:3] {
		want := "[w" + string(rune('1'+i)) + " "
		if !strings.HasPrefix(line, want) || !strings.HasSuffix(line, "] child\t"+string(rune('1'+i))) {
			t.Errorf("line %q, want %s... child %d", line, want, i+1)
		}
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %s", errOut.String())
	}
	if _, err := os.Stat(runDir); runDir == "" || !os.IsNotExist(err) {
		t.Errorf("run folder %q still there after Close (%v)", runDir, err)
	}
}

func TestStopEndsRunningChildren(t *testing.T) {
	h := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	err := runScript(t, h, `
		local mp = require("mp")
		for i = 1, 3 do
			mp.Process{target = function() while true do end end, daemon = true}:start()
		end
		os.exit(3) -- leave the daemons running: os.exit waits for none`)
	if e, ok := err.(*ExitError); !ok || e.Code != 3 {
		t.Fatalf("err = %v", err)
	}
	var pids []int
	for _, p := range h.procs.list(func(p *process) bool { return !p.ended() }) {
		pids = append(pids, p.pid)
	}
	if len(pids) != 3 {
		t.Fatalf("%d processes running, want 3", len(pids))
	}
	if n := h.stop(); n != 3 {
		t.Errorf("Stop stopped %d, want 3", n)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("child %d still there after Stop (%v)", pid, err)
		}
	}
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// settledOpenFiles is openFiles once it reads the same twice 50 ms apart
// (for up to 2 s): what an earlier test's host closes after its Close
// returned must not count in a test that compares counts.
func settledOpenFiles(t *testing.T) int {
	t.Helper()
	n := openFiles(t)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		m := openFiles(t)
		if m == n {
			break
		}
		n = m
	}
	return n
}

// TestCloseLeavesNoDescriptor proves that a host that ran children (and a
// Value, whose number lives in the memory the host hands them) keeps no file
// descriptor open once closed, so that a program may make many hosts.
func TestCloseLeavesNoDescriptor(t *testing.T) {
	count := func() int { return openFiles(t) }
	before := count()
	h := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	err := runScript(t, h, `
		local mp = require("mp")
		local v = mp.Value(0)
		local p = mp.Process{target = function() v:add(5) end}
		p:start()
		p:join()
		assert(v:get() == 5)`)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if after := count(); after > before {
		links := func() (l []string) { // what is open, to name the one left
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, e := range ents {
				dst, _ := os.Readlink("/proc/self/fd/" + e.Name())
				l = append(l, e.Name()+"->"+dst)
			}
			return l
		}
		t.Errorf("%d file descriptors open after Close, %d before New: %v", after, before, links())
	}
}

// A pipe end's socket is let go once the end is closed (and its backlog
// written), and at Close for a pipe still open.
func TestPipeSocketsAreReleased(t *testing.T) {
	h := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	defer h.Close()
	pipe := func() []uint64 {
		ids, err := mainRuntime{h}.NewObject("Connection", vm.ObjectArgs{Duplex: true})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	before := settledOpenFiles(t)
	for range 100 {
		for _, id := range pipe() {
			if _, err := (mainRuntime{h}).Invoke(context.Background(), vm.ObjectCall{ID: id, Op: ops.ConnectionClose}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if now := openFiles(t); now != before {
		t.Fatalf("%d file descriptors open after 100 pipes were made and closed, %d before", now, before)
	}
	open := pipe()
	if _, err := (mainRuntime{h}).Invoke(context.Background(), vm.ObjectCall{ID: open[0], Op: ops.ConnectionClose}); err != nil {
		t.Fatal(err)
	}
	// The closed end's socket goes once its backlog is written (none
	// here): the host holds one file for the open end.
	if now := openFiles(t); now != before+1 {
		t.Fatalf("%d file descriptors open with a pipe whose one end is open, want %d", now, before+1)
	}
	h.Close()
	if now := openFiles(t); now > before {
		t.Fatalf("%d file descriptors open after Close, %d before", now, before)
	}
}
