package main

import (
	"context"
	"strings"
	"syscall"
	"testing"

	icluster "github.com/mphost/mphost/internal/cluster"
)

// stderrLine returns the next line of s's stderr that holds want, failing the test if none
// comes within clusterBound.
func stderrLine(t *testing.T, s *session, want string) string {
	t.Helper()
	for {
		line, ok := s.errBuf.next(clusterBound, s.exited)
		if !ok {
			t.Fatalf("no line holding %q on stderr within %v\nstderr:\n%s", want, clusterBound, s.stderr())
		}
		if strings.Contains(line, want) {
			return line
		}
	}
}

// `mphost cluster worker URL` joins a cluster served by `mphost cluster serve`: a task
// submitted to the cluster that is not an mphost task is taken, answered with an error that
// says so, and logged; SIGTERM stops both commands, which exit 0 and leave no
// process behind.
func TestClusterWorker(t *testing.T) {
	t.Parallel()
	srv := startSession(t, t.TempDir(), nil, false, "cluster", "serve", "--listen", "127.0.0.1:0", "--store", t.TempDir())
	url := srv.nextLine(t, clusterBound, "nats://")
	w := startSession(t, t.TempDir(), nil, false, "cluster", "worker", url, "--processes", "2")
	stderrLine(t, w, "with 2 processes")

	c, err := icluster.Connect(url, icluster.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), clusterBound)
	defer cancel()
	r, err := icluster.NewRun(ctx, c, icluster.RunConfig{InFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.Submit(ctx, []byte("not an mphost task"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Task != id || res.Err != "malformed task: not an mphost pool task" || res.Worker == "" {
		t.Errorf("result %+v, want task %d failed saying it is not a task, and the worker named", res, id)
	}
	if err := r.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	stderrLine(t, w, "task 1 taken (delivery 1)")
	stderrLine(t, w, "task 1 done: failed: malformed task: not an mphost pool task")

	for _, s := range []*session{w, srv} {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := s.wait(t, clusterBound); code != 0 {
			t.Fatalf("%v: exit status %d after SIGTERM, want 0\nstderr:\n%s", s.cmd.Args, code, s.stderr())
		}
		if live, zombies := childrenOf(s.cmd.Process.Pid); len(live)+len(zombies) > 0 {
			t.Errorf("%v: processes left: %v %v", s.cmd.Args, live, zombies)
		}
	}
	stderrLine(t, w, "stopped")
}

// A bad use of cluster worker is a usage error; a URL without the token is refused at once.
func TestClusterWorkerUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"cluster", "worker"},
		{"cluster", "worker", "nats://127.0.0.1:1", "--listen", "127.0.0.1:0"},
		{"cluster", "serve", "--processes", "2"},
	} {
		if r := mphost(t, "", args...); r.code != exitUsage || !strings.Contains(r.stderr, "usage: mphost cluster serve") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if r := mphost(t, "", "cluster", "worker", "nats://127.0.0.1:1", "--processes", "0"); r.code != exitUsage {
		t.Errorf("--processes 0: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := mphost(t, "", "cluster", "worker", "nats://127.0.0.1:1"); r.code != 1 || !strings.Contains(r.stderr, "no NATS server answers at nats://127.0.0.1:1") {
		t.Errorf("nothing listening: exit %d, stderr %q", r.code, r.stderr)
	}
}

// SIGTERM stops a worker gently: it finishes the task in hand and exits 0; a task still
// running after the ack wait is handed back at once, and another worker runs it again.
func TestClusterWorkerSignalled(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	finishes := c.startRun(t, `print(require("mp").Pool(1):apply(function() require("mp").sleep(1) return "finished" end))`)
	first := c.workers[0]
	stderrLine(t, first, " taken (delivery 1)")
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := finishes.wait(t, clusterBound); code != 0 || finishes.stdout() != "finished\n" {
		t.Fatalf("the run: exit %d\nstdout:\n%s\nstderr:\n%s", code, finishes.stdout(), finishes.stderr())
	}
	if code := first.wait(t, clusterBound); code != 0 || strings.Contains(first.stderr(), "handing back") {
		t.Fatalf("the first worker: exit %d after SIGTERM, want 0 with its task finished\nstderr:\n%s", code, first.stderr())
	}

	second := c.addWorker(t, 1)
	handedBack := c.startRun(t, `
local mp = require("mp")
local flag = os.tmpname()
print(mp.Pool(1):apply(function(path)
  local f = io.open(path)
  if f then f:close() return "run again" end
  io.open(path, "w"):close()
  mp.sleep(300)
end, {flag}))
os.remove(flag)
`)
	stderrLine(t, second, " taken (delivery 1)")
	third := c.addWorker(t, 1)
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := handedBack.wait(t, clusterBound); code != 0 || handedBack.stdout() != "run again\n" {
		t.Fatalf("the run: exit %d\nstdout:\n%s\nstderr:\n%s", code, handedBack.stdout(), handedBack.stderr())
	}
	stderrLine(t, second, "handing back the tasks in hand, unfinished after")
	if code := second.wait(t, clusterBound); code != 0 {
		t.Errorf("the second worker: exit %d after SIGTERM, want 0\nstderr:\n%s", code, second.stderr())
	}
	stderrLine(t, third, " taken (delivery 2)")
	c.stop(t)
}
