package main

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/cluster"
)

// startRun starts script (job.lua in a new folder) with --cluster as a session the test
// drives.
func (c *testCluster) startRun(t *testing.T, script string) *session {
	t.Helper()
	dir := writeFiles(t, map[string]string{"job.lua": script})
	return startSession(t, dir, []string{"TMPDIR=" + shortTempDir(t)}, false, "run", "--cluster", c.url, "job.lua")
}

// gone waits, within clusterBound, until none of pids runs: a zombie counts as gone (the test
// process may be the subreaper of a killed worker's children, and reaps them).
func gone(t *testing.T, pids []int) {
	t.Helper()
	if left := stillRunning(setOf(pids), clusterBound); len(left) > 0 {
		t.Fatalf("processes %v still run %v after their cluster worker was killed", left, clusterBound)
	}
}

// A worker killed with -9 in the middle of a map costs its tasks a redelivery after the ack
// wait: the map completes on the other worker with each result once, in order, within a few
// ack waits of the kill (its tasks take 2.4 s in all), and the killed worker's processes end
// with it.
func TestClusterWorkerKilled(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2, 1)
	run := c.startRun(t, `
local mp = require("mp")
local pool = mp.Pool(2)
local items = {}
for i = 1, 12 do items[i] = i end
print(table.concat(pool:map(function(x) mp.sleep(0.2) return x * 2 end, items), " "))
`)
	victim := c.workers[0]
	stderrLine(t, victim, " taken (delivery 1)")
	live, _ := childrenOf(victim.cmd.Process.Pid)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if code := run.wait(t, 2*clusterBound); code != 0 {
		t.Fatalf("the run exited %d\nstdout:\n%s\nstderr:\n%s", code, run.stdout(), run.stderr())
	}
	if took := time.Since(killed); took > 6*cluster.AckWait {
		t.Errorf("the run ended %v after the kill, more than six ack waits (%v): the lost task waited longer than its claim", took, cluster.AckWait)
	}
	if want := "2 4 6 8 10 12 14 16 18 20 22 24\n"; run.stdout() != want || run.stderr() != "" {
		t.Errorf("stdout %q, stderr %q; want %q and nothing", run.stdout(), run.stderr(), want)
	}
	gone(t, live)
	c.stop(t)
}

// A task that kills its worker process every time (os.exit, or a kill -9 of itself) fails
// after the bounded deliveries with an error that says so; the cluster worker lives on.
func TestClusterTaskKillsItsWorker(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(1)
print(pcall(pool.apply, pool, function() os.exit(3) end))
print(pcall(pool.apply, pool, function() os.execute("kill -9 " .. mp.current_process().pid) end))
print(pool:apply(function() return "still working" end))
`)
	lost := `false\tjob.lua:\d: Pool.apply: cluster: task \d was handed to a worker 5 times and its worker was lost each time; it is not run again\n\(on cluster worker [^:]+:\d+\)\n`
	if r.code != 0 || r.stderr != "" || !regexp.MustCompile(`^`+lost+lost+`still working\n$`).MatchString(r.stdout) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	w := c.workers[0].stderr()
	if n := strings.Count(w, "handed back"); n != 10 {
		t.Errorf("the worker handed back %d tasks, want 5 for each\n%s", n, w)
	}
	c.stop(t)
}

// A task that kills its process in a message of several fails alone, after its own
// deliveries: the others keep their results, those after it run in the next process.
func TestClusterTaskKillsItsWorkerInABatch(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(1)
local rs = {}
for i = 1, 200 do
  rs[i] = pool:apply_async(function(x) if x == 150 then os.exit(3) end return x end, {i})
end
local ok, failed = 0, {}
for i = 1, 200 do
  local good, v = pcall(rs[i].get, rs[i])
  if good and v == i then ok = ok + 1 else failed[#failed + 1] = i .. ": " .. tostring(v) end
end
print(ok .. " ok")
print(table.concat(failed, "\n"))
`)
	lost := `150: job.lua:\d+: Pool.apply_async: cluster: task \d+ was handed to a worker 5 times and its worker was lost each time; it is not run again\n\(on cluster worker [^:]+:\d+\)\n`
	if r.code != 0 || r.stderr != "" || !regexp.MustCompile(`^199 ok\n`+lost+`$`).MatchString(r.stdout) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	w := c.workers[0].stderr()
	if n := strings.Count(w, "handed back"); n != 5 {
		t.Errorf("the worker handed back %d tasks, want 5: the killer's, sent alone\n%s", n, w)
	}
	if taken := strings.Count(w, " taken "); taken >= 200 {
		t.Errorf("%d messages for 200 short tasks, want fewer\n%s", taken, w)
	}
	c.stop(t)
}

// task_timeout holds on the worker: the task fails with the timeout error, naming the worker,
// and is not delivered again; the pool goes on.
func TestClusterTaskTimeout(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	start := time.Now()
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool{processes = 1, task_timeout = 0.5}
print(pcall(pool.apply, pool, function() mp.sleep(120) end))
print(pool:apply(function() return "next" end))
`)
	if took := time.Since(start); took > clusterBound {
		t.Errorf("the run took %v", took)
	}
	if r.code != 0 || r.stderr != "" ||
		!regexp.MustCompile(`^false\tjob.lua:4: Pool.apply: task timed out after 500ms; worker PoolWorker-\d+ \(pid \d+\) was killed\n\(on cluster worker [^:]+:\d+\)\nnext\n$`).MatchString(r.stdout) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	w := c.workers[0].stderr()
	if strings.Contains(w, "delivery 2") || strings.Count(w, " taken ") != 2 {
		t.Errorf("the timed out task was delivered again:\n%s", w)
	}
	c.stop(t)
}

// A task or initializer that carries a host object raises at once, naming the object: no
// worker is there to take it, so a task sent would hang the run.
func TestClusterHostObject(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 0, 1)
	r := c.run(t, `
local mp = require("mp")
local q = mp.Queue()
local pool = mp.Pool(1)
print(pcall(pool.apply, pool, function() q:put(1) end))
print(pcall(pool.map, pool, function(e) return e end, {mp.Event()}))
print(pcall(mp.Pool, {processes = 1, initializer = function(l) end, initargs = {mp.Lock()}}))
`)
	want := "false\tjob.lua:5: Pool.apply: the function's upvalues carry a Queue: cluster workers cannot reach the objects of this run\n" +
		"false\tjob.lua:6: Pool.map: the task's arguments carry an Event: cluster workers cannot reach the objects of this run\n" +
		"false\tjob.lua:7: Pool.start: the initializer and initargs carry a Lock: cluster workers cannot reach the objects of this run\n"
	r.expect(t, 0, want, "")
}

// A task whose results carry an object made on its worker fails, naming the object: the run
// cannot reach it. The pool goes on.
func TestClusterWorkerObject(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(1)
print(pcall(pool.apply, pool, function() return mp.Queue() end))
print(pcall(pool.map, pool, function(x) return {x, mp.Event()} end, {1, 2}))
print(pool:apply(function() return "next" end))
`)
	want := `^false\tjob.lua:4: Pool.apply: the task's results carry a Queue: the run cannot reach the objects of a cluster worker\n\(on cluster worker [^:]+:\d+\)\n` +
		`false\tjob.lua:5: Pool.map: the task's results carry an Event: the run cannot reach the objects of a cluster worker\n\(on cluster worker [^:]+:\d+\)\n` +
		`next\n$`
	if r.code != 0 || r.stderr != "" || !regexp.MustCompile(want).MatchString(r.stdout) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	c.stop(t)
}

// terminate ends a cluster Pool's work as it ends local workers: the task running on the
// worker stops (its process is killed), the run goes on at once, and the worker's one process
// is free for the next Pool, which would otherwise wait for the task's five minutes.
func TestClusterTerminate(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local flag = os.tmpname()
os.remove(flag)
local pool = mp.Pool(1)
local r = pool:apply_async(function(path)
  local f = io.open(path, "w") f:write("started") f:close()
  mp.sleep(300)
  return "finished"
end, {flag})
for _ = 1, 1200 do
  local f = io.open(flag)
  if f then f:close() break end
  mp.sleep(0.05)
end
os.remove(flag)
pool:terminate()
pool:join()
print(pcall(r.get, r, 1))
print(mp.Pool(1):apply(function() return "next" end))
`)
	r.expect(t, 0, "false\tjob.lua:19: Pool.apply_async: the pool was terminated\nnext\n", "")
	stderrLine(t, c.workers[0], "task 1 stopped: cluster: the task's run withdrew it")
	c.stop(t)
}

// Ctrl-C withdraws the run's tasks: the worker drops the one it runs and takes none of the
// others, though they wait before a later run's tasks; the end of a script withdraws too.
func TestClusterWithdraw(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 2)
	w := c.workers[0]
	run := c.startRun(t, `
local mp = require("mp")
local pool = mp.Pool(4)
local r = pool:map_async(function(x) mp.sleep(120) return x end, {1, 2, 3, 4, 5, 6})
print("submitted")
r:wait()
`)
	run.nextLine(t, clusterBound, "submitted")
	taken := stderrLine(t, w, " taken (delivery 1)")
	stderrLine(t, w, " taken (delivery 1)") // both processes run one
	first := regexp.MustCompile(`run (\S+): task`).FindStringSubmatch(taken)[1]
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, clusterBound); code != exitInterrupt {
		t.Fatalf("exit %d after SIGINT\nstderr:\n%s", code, run.stderr())
	}
	// The script's end withdraws its tasks left, as Ctrl-C does: the sleeper takes one
	// process, the map the other.
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(2)
pool:apply_async(function() mp.sleep(120) end)
print(table.concat(pool:map(function(x) return x + 1 end, {1, 2, 3}, 3), " "))
`)
	if r.code != 0 || r.stdout != "2 3 4\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// A third run's tasks come after any left of the first two: once it is done, a stale
	// task would have been taken. It needs both processes: the sleeper was dropped.
	if r := c.run(t, `print(table.concat(require("mp").Pool(2):map(function(x) return -x end, {1, 2}, 1), " "))`); r.stdout != "-1 -2\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	runs := regexp.MustCompile(`run (\S+): task \d+ taken`).FindAllStringSubmatch(w.stderr(), -1)
	counts := map[string]int{}
	for _, m := range runs {
		counts[m[1]]++
	}
	if len(counts) != 3 || counts[first] != 2 {
		t.Errorf("tasks taken per run %v, want 2 of the interrupted run %s (those it ran at Ctrl-C), 2 of the second, 2 of the third\n%s", counts, first, w.stderr())
	}
	for run, n := range counts {
		if n != 2 {
			t.Errorf("run %s: %d tasks taken, want 2", run, n)
		}
	}
	c.stop(t)
}

// --timeout withdraws the run's tasks as Ctrl-C does: the worker stops the task it runs, and
// its one process is free for the next run, which would otherwise wait for five minutes.
func TestClusterTimeoutWithdraws(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	dir := writeFiles(t, map[string]string{"job.lua": `require("mp").Pool(1):apply(function() require("mp").sleep(300) end)`})
	r := invocation{args: []string{"run", "--timeout", "10s", "--cluster", c.url, "job.lua"}, dir: dir, timeout: clusterBound}.run(t)
	if r.code != 124 {
		t.Fatalf("exit %d, want 124\nstderr:\n%s", r.code, r.stderr)
	}
	if next := c.run(t, `print(require("mp").Pool(1):apply(function() return "next" end))`); next.code != 0 || next.stdout != "next\n" {
		t.Fatalf("the next run: exit %d\nstdout:\n%s\nstderr:\n%s", next.code, next.stdout, next.stderr)
	}
	stderrLine(t, c.workers[0], "task 1 stopped: cluster: the task's run withdrew it")
	c.stop(t)
}

// The server restarts in the middle of a map, on its port and with its token: the run and the
// workers connect again, put back the tasks the server had in memory, and the map completes
// with each result once, in order. What the tasks print reaches the run, a task that ran twice
// printing twice.
func TestClusterServerRestart(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown() }) // the server of the moment, after the workers' cleanups
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{url: srv.URL()}
	c.addWorker(t, 1)
	c.addWorker(t, 1)
	run := c.startRun(t, `
local mp = require("mp")
local pool = mp.Pool(2)
local items = {}
for i = 1, 12 do items[i] = i end
print(table.concat(pool:map(function(x) mp.sleep(0.2) print("task " .. x) return x * 2 end, items), " "))
`)
	stderrLine(t, c.workers[0], " taken (delivery 1)")
	srv.Shutdown()
	if srv, err = cluster.Serve(cluster.ServerConfig{Listen: u.Host, StoreDir: store, Token: u.User.Username()}); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t, 2*clusterBound); code != 0 {
		t.Fatalf("the run exited %d\nstdout:\n%s\nstderr:\n%s", code, run.stdout(), run.stderr())
	}
	// A task's lines may come after its result, as on one machine: the lines travel apart.
	lines := strings.Split(strings.TrimSuffix(run.stdout(), "\n"), "\n")
	if want := "2 4 6 8 10 12 14 16 18 20 22 24"; slices.Index(lines, want) < 0 || run.stderr() != "" {
		t.Errorf("stdout %q, stderr %q; want a line %q, and nothing", run.stdout(), run.stderr(), want)
	}
	printed := map[string]bool{}
	for _, line := range lines {
		printed[line] = true
	}
	for i := 1; i <= 12; i++ {
		if !printed[fmt.Sprint("task ", i)] {
			t.Errorf("no line %q in stdout %q", fmt.Sprint("task ", i), run.stdout())
		}
	}
	c.stop(t)
}
