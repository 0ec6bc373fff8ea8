package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	icluster "github.com/mphost/mphost/internal/cluster"
)

// clusterBound is how long the cluster command tests wait for what must happen; generous,
// the machine is loaded.
const clusterBound = 60 * time.Second

// `mphost cluster serve` prints its URL first; a client with its token connects, one without
// is refused at once; SIGTERM shuts it down, it exits 0, leaves no process and no listener,
// and removes the temporary store it made.
func TestClusterServe(t *testing.T) {
	t.Parallel()
	tmp := shortTempDir(t)
	s := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp, "XDG_STATE_HOME="}, false,
		"cluster", "serve", "--listen", "127.0.0.1:0")
	line := s.nextLine(t, clusterBound, "nats://")
	u, err := url.Parse(line)
	if err != nil || u.User.Username() == "" || !strings.HasPrefix(u.Host, "127.0.0.1:") {
		t.Fatalf("first line %q: want nats://TOKEN@127.0.0.1:PORT", line)
	}
	stores, _ := filepath.Glob(filepath.Join(tmp, "mphost-cluster-*"))
	if len(stores) != 1 {
		t.Errorf("temporary stores %v in TMPDIR, want one", stores)
	}

	c, err := icluster.Connect(line, icluster.ConnectOptions{})
	if err != nil {
		t.Fatalf("Connect with the token: %v", err)
	}
	c.Close()
	start := time.Now()
	if c, err := icluster.Connect("nats://"+u.Host, icluster.ConnectOptions{}); err == nil {
		c.Close()
		t.Fatal("Connect without the token worked")
	} else if !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("Connect without the token: %v, want a refusal", err)
	}
	if took := time.Since(start); took > clusterBound/2 {
		t.Errorf("the refusal took %v", took)
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t, clusterBound); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0\nstderr:\n%s", code, s.stderr())
	}
	if !strings.Contains(s.stderr(), "SIGTERM: stopped") {
		t.Errorf("stderr %q: want it to say it stopped", s.stderr())
	}
	if live, zombies := childrenOf(s.cmd.Process.Pid); len(live)+len(zombies) > 0 {
		t.Errorf("processes left: %v %v", live, zombies)
	}
	if c, err := icluster.Connect(line, icluster.ConnectOptions{}); err == nil {
		c.Close()
		t.Error("the server still answers after exit")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("TMPDIR holds %d entries after exit, want the store removed", len(left))
	}
}

// Without --store and with XDG_STATE_HOME set, the store is a folder under it, which stays;
// --token sets the token the URL carries.
func TestClusterServeStateHome(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	s := startSession(t, t.TempDir(), []string{"XDG_STATE_HOME=" + state}, false,
		"cluster", "serve", "--listen", "127.0.0.1:0", "--token", "sesame")
	line := s.nextLine(t, clusterBound, "nats://sesame@127.0.0.1:")
	store := filepath.Join(state, "mphost", "cluster")
	if info, err := os.Stat(store); err != nil || !info.IsDir() {
		t.Errorf("store %s: %v", store, err)
	}
	c, err := icluster.Connect(line, icluster.ConnectOptions{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	c.Close()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t, clusterBound); code != 0 {
		t.Fatalf("exit status %d after SIGINT, want 0\nstderr:\n%s", code, s.stderr())
	}
	if _, err := os.Stat(store); err != nil {
		t.Errorf("the store under XDG_STATE_HOME is gone: %v", err)
	}
}

// A bad use of the command is a usage error, and an address taken says so.
func TestClusterServeUsage(t *testing.T) {
	t.Parallel()
	r := mphost(t, "", "cluster", "join")
	if r.code != exitUsage || !strings.Contains(r.stderr, "usage: mphost cluster serve") {
		t.Errorf("cluster join: exit %d, stderr %q", r.code, r.stderr)
	}
	r = mphost(t, "", "cluster", "serve", "--listen", "nowhere")
	if r.code != 1 || !strings.Contains(r.stderr, `listen address "nowhere"`) {
		t.Errorf("--listen nowhere: exit %d, stderr %q", r.code, r.stderr)
	}
}
