package host

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The sweep of stale run folders takes the folder of a host that is gone,
// never a live Host's: not another program's, and not a sibling Host's in
// this same process, whose folder carries this process's pid too.
func TestSweepSparesLiveHosts(t *testing.T) {
	base, err := os.MkdirTemp("/tmp", "sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	t.Setenv("TMPDIR", base)

	// A host that is gone: a process that has ended, and its folder.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(base, fmt.Sprintf("mphost-%d-stale", gone.Process.Pid))
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}

	start := `local mp = require("mp")
		local p = mp.Process{target = function() end}
		p:start() p:join()
		assert(p.exitcode == 0, p.exitcode)`
	first := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	defer first.Close()
	if err := runScript(t, first, start); err != nil {
		t.Fatal(err)
	}
	firstDir := first.children.dir
	if firstDir == "" || filepath.Dir(firstDir) != base {
		t.Fatalf("the first host's run folder is %q, want one in %s", firstDir, base)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale folder %s is still there (%v)", stale, err)
	}

	// A sibling Host in this process sweeps when it makes its folder: the
	// first Host's folder stays, and the first Host goes on starting
	// processes.
	second := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	defer second.Close()
	if err := runScript(t, second, start); err != nil {
		t.Fatal(err)
	}
	if second.children.dir == firstDir {
		t.Fatalf("both Hosts use the run folder %s", firstDir)
	}
	if _, err := os.Stat(firstDir); err != nil {
		t.Fatalf("the sibling's sweep took the live Host's folder: %v", err)
	}
	if err := runScript(t, first, start); err != nil {
		t.Fatalf("the first Host after its sibling's sweep: %v", err)
	}
	first.Close()
	if _, err := os.Stat(firstDir); !os.IsNotExist(err) {
		t.Errorf("Close left the run folder %s (%v)", firstDir, err)
	}
}
