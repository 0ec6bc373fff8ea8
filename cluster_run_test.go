package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mphost/mphost/cluster"
)

// testCluster is a real cluster for a test: a server embedded in the test process and real
// `mphost cluster worker` processes of the built binary.
type testCluster struct {
	url     string
	workers []*session
	tmp     []string // each worker's TMPDIR, where its children's sockets go
}

// startCluster serves a cluster on a free port and starts workers, each with --processes
// processes, once each says it takes tasks. The test's cleanup stops them and the server.
func startCluster(t *testing.T, workers, processes int) *testCluster {
	t.Helper()
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown) // after the workers' cleanups: cleanups run last first
	c := &testCluster{url: srv.URL()}
	for range workers {
		c.addWorker(t, processes)
	}
	return c
}

// addWorker starts one more worker with processes processes.
func (c *testCluster) addWorker(t *testing.T, processes int) *session {
	t.Helper()
	tmp := shortTempDir(t)
	w := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp}, false,
		"cluster", "worker", c.url, "--processes", strconv.Itoa(processes))
	stderrLine(t, w, "taking tasks from nats://127.0.0.1:")
	c.workers, c.tmp = append(c.workers, w), append(c.tmp, tmp)
	return w
}

// stop stops the workers that still run with SIGTERM: each exits 0 and leaves no process and
// no socket file behind.
func (c *testCluster) stop(t *testing.T) {
	t.Helper()
	for i, w := range c.workers {
		if w.hasExited() {
			continue
		}
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := w.wait(t, clusterBound); code != 0 {
			t.Errorf("worker %d: exit status %d after SIGTERM, want 0\nstderr:\n%s", i, code, w.stderr())
		}
		if live, zombies := childrenOf(w.cmd.Process.Pid); len(live)+len(zombies) > 0 {
			t.Errorf("worker %d: processes left: %v %v", i, live, zombies)
		}
		if left, _ := os.ReadDir(c.tmp[i]); len(left) != 0 {
			t.Errorf("worker %d: %d entries left in its TMPDIR", i, len(left))
		}
	}
}

// run runs script (the file job.lua in a new folder) with --cluster and returns what it did.
func (c *testCluster) run(t *testing.T, script string) result {
	t.Helper()
	dir := writeFiles(t, map[string]string{"job.lua": script})
	return invocation{args: []string{"run", "--cluster", c.url, "job.lua"}, dir: dir, timeout: 2 * clusterBound}.run(t)
}

// The same script runs on a cluster of two workers: a map of a closure with an upvalue gives
// its results in order, from both workers, and what its tasks print comes in whole lines;
// apply_async's callback runs, imap_unordered gives every result, and a task's error is raised
// with the remote traceback, naming the worker's host and pid.
func TestClusterRun(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 2, 1)
	r := c.run(t, `
local mp = require("mp")
local k = 10
local pool = mp.Pool(2)
local got = pool:map(function(x)
  io.write("item ", x)
  mp.sleep(0.2) -- both workers take some
  io.write(" of 8", "\n")
  return {x * k, mp.current_process().pid}
end, {1, 2, 3, 4, 5, 6, 7, 8})
local values, pids = {}, {}
for i, v in ipairs(got) do values[i] = v[1]; pids[v[2]] = true end
local n = 0
for _ in pairs(pids) do n = n + 1 end
print("map", table.concat(values, " "), "processes", n)

local noted
pool:apply_async(function(a, b) return a .. b end, {"x", "y"}, function(v) noted = v end):wait(60)
mp.sleep(0)
print("callback", noted)

local sum = 0
for v in pool:imap_unordered(function(x) return x * x end, {1, 2, 3, 4}, 1) do sum = sum + v end
print("imap_unordered", sum)

local function fail(x) error("bad item " .. x) end
local ok, err = pcall(pool.map, pool, fail, {7})
print(ok, err)
pool:close()
pool:join()
`)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var items, rest []string
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if strings.HasPrefix(line, "item ") {
			items = append(items, line)
		} else {
			rest = append(rest, line)
		}
	}
	slices.Sort(items)
	if want := "item 1 of 8,item 2 of 8,item 3 of 8,item 4 of 8,item 5 of 8,item 6 of 8,item 7 of 8,item 8 of 8"; strings.Join(items, ",") != want {
		t.Errorf("the tasks' lines %q, want each whole once", items)
	}
	out := strings.Join(rest, "\n")
	for _, want := range []string{
		"map\t10 20 30 40 50 60 70 80\tprocesses\t2",
		"callback\txy",
		"imap_unordered\t30",
		"false\tjob.lua:27: Pool.map: job.lua:26: bad item 7\nstack traceback:",
		"job.lua:26: in function",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	host, _ := os.Hostname()
	m := regexp.MustCompile(`\(on cluster worker ([^:]+):(\d+)\)`).FindStringSubmatch(out)
	if m == nil || m[1] != host || (m[2] != strconv.Itoa(c.workers[0].cmd.Process.Pid) && m[2] != strconv.Itoa(c.workers[1].cmd.Process.Pid)) {
		t.Errorf("the task's error does not name a worker's host and pid:\n%s", out)
	}
	c.stop(t)
}

// A Pool's processes bound its tasks in flight on the cluster: a Pool(1) on a worker of two
// processes has one task out at a time, a Pool(2) two.
func TestClusterProcessesBoundInFlight(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 2)
	r := c.run(t, `
local mp = require("mp")
for _, n in ipairs({1, 2}) do
  local pool = mp.Pool(n)
  pool:map(function(x) mp.sleep(0.1) return x end, {1, 2, 3, 4})
  pool:close()
  pool:join()
  print(n)
end
`)
	r.expect(t, 0, "1\n2\n", "")
	// Tasks 1-4 are the Pool(1)'s, 5-8 the Pool(2)'s.
	most := mostInFlight(c.workers[0].stderr(), func(task int) string {
		if task > 4 {
			return "Pool(2)"
		}
		return "Pool(1)"
	})
	if most["Pool(1)"] != 1 || most["Pool(2)"] != 2 {
		t.Errorf("tasks in flight at most %v, want 1 for the Pool(1) and 2 for the Pool(2)\n%s", most, c.workers[0].stderr())
	}
	c.stop(t)
}

// mostInFlight reads a cluster worker's log and returns the most tasks it had in hand at once
// while a task of each group (as group names the task ids) was among them.
func mostInFlight(log string, group func(task int) string) map[string]int {
	out, most := 0, map[string]int{}
	for _, m := range regexp.MustCompile(`run \S+: task (\d+) (taken|done)`).FindAllStringSubmatch(log, -1) {
		if m[2] == "taken" {
			out++
		} else {
			out--
		}
		n, _ := strconv.Atoi(m[1])
		most[group(n)] = max(most[group(n)], out)
	}
	return most
}

// Short tasks share messages: a Pool(1) map of 300 quick items of chunksize 1 reaches the
// cluster in fewer messages than tasks (how many a message carries follows the tasks' times,
// which a loaded machine stretches; TestClusterMessages checks the sizes), yet the Pool has one message out at a time on a
// worker of two processes. Its results come in order and each task's line is printed once.
func TestClusterShortTasksShareMessages(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 2)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(1)
local items = {}
for i = 1, 300 do items[i] = i end
local got = pool:map(function(x) print("item " .. x) return x * x end, items, 1)
local wrong = 0
for i = 1, 300 do
  if got[i] ~= i * i then wrong = wrong + 1 end
end
print(#got .. " results, " .. wrong .. " wrong")
`)
	// The tasks' lines may come after the results, which travel apart.
	if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, "\n300 results, 0 wrong\n") != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for i := 1; i <= 300; i++ {
		if n := strings.Count(r.stdout, "item "+strconv.Itoa(i)+"\n"); n != 1 {
			t.Errorf("the line of item %d printed %d times", i, n)
		}
	}
	log := c.workers[0].stderr()
	if taken := strings.Count(log, " taken "); taken >= 300 {
		t.Errorf("%d messages for 300 short tasks, want fewer\n%s", taken, log)
	}
	if most := mostInFlight(log, func(int) string { return "Pool(1)" }); most["Pool(1)"] != 1 {
		t.Errorf("messages in flight at most %d, want 1\n%s", most["Pool(1)"], log)
	}
	c.stop(t)
}

// A Pool that a child makes runs on the cluster too: its results come back, and its task's
// error names the cluster worker it ran on.
func TestClusterPoolInAChild(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local q = mp.Queue()
local p = mp.Process{target = function(q)
  local pool = mp.Pool(1)
  q:put(table.concat(pool:map(function(x) return x * 3 end, {1, 2, 3}), " "))
  local ok, err = pcall(pool.map, pool, function(x) error("no " .. x) end, {4})
  q:put(tostring(err))
  pool:close()
  pool:join()
end, args = {q}}
p:start()
print(q:get(true, 60))
print(q:get(true, 60))
p:join()
`)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	pid := strconv.Itoa(c.workers[0].cmd.Process.Pid)
	for _, want := range []string{"3 6 9\n", "no 4", "(on cluster worker ", ":" + pid + ")"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	c.stop(t)
}

// A message of short tasks with a long one near its start stops there: the worker starts no
// more of its tasks once it has run past its budget and gives the others back, to go out
// again. Every result comes, in order. How many tasks a message carries follows their times,
// which a loaded machine stretches, so the long tasks are several, in four rounds: one of
// them must meet a message of a few tasks that it does not end.
func TestClusterLongTaskEndsItsMessage(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool(1)
local function f(x)
  if x < 0 then mp.sleep(0.1) end
  return x
end
local items = {}
for i = 1, 300 do items[i] = i end
pool:map(f, items, 1) -- f's tasks are timed short
items[1], items[101], items[201] = -1, -101, -201
local wrong = 0
for round = 1, 4 do
  local got = pool:map(f, items, 1)
  for i = 1, 300 do
    if got[i] ~= items[i] then wrong = wrong + 1 end
  end
end
print("4 rounds of 300 results, " .. wrong .. " wrong")
`)
	r.expect(t, 0, "4 rounds of 300 results, 0 wrong\n", "")
	log := c.workers[0].stderr()
	if !regexp.MustCompile(`task \d+: \d+ of its \d+ tasks run in \d+ms; the others go back`).MatchString(log) {
		t.Errorf("no message ended after a long task:\n%s", log)
	}
	c.stop(t)
}

// The short tasks of a message run as on local processes: 200 apply_async of a closure give
// the results, errors and printed lines that a local Pool gives (each call starts from its own
// copy of the closure), though they reach the cluster in fewer messages than tasks.
func TestClusterMessageRunsTasksAsLocally(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	script := `
local mp = require("mp")
local pool = mp.Pool(1)
local calls = 0
local function f(x)
  calls = calls + 1
  if x % 50 == 0 then error("bad " .. x) end
  print("ran " .. x)
  return calls
end
local rs = {}
for i = 1, 200 do rs[i] = pool:apply_async(f, {i}) end
for i = 1, 200 do
  local ok, v = pcall(rs[i].get, rs[i])
  print(i, ok, (tostring(v):gsub("\n.*", "")))
end
`
	local := invocation{args: []string{"run", "job.lua"}, dir: writeFiles(t, map[string]string{"job.lua": script}), timeout: clusterBound}.run(t)
	r := c.run(t, script)
	sorted := func(out string) string {
		lines := strings.Split(out, "\n")
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	if r.code != 0 || r.stderr != "" || local.code != 0 || sorted(r.stdout) != sorted(local.stdout) || !strings.Contains(r.stdout, "50\tfalse\tjob.lua:14: Pool.apply_async: job.lua:7: bad 50\n") {
		t.Fatalf("on the cluster: exit %d\nstdout:\n%s\nstderr:\n%s\nlocally: exit %d\nstdout:\n%s", r.code, r.stdout, r.stderr, local.code, local.stdout)
	}
	if taken := strings.Count(c.workers[0].stderr(), " taken "); taken >= 200 {
		t.Errorf("%d messages for 200 short tasks, want fewer", taken)
	}
	c.stop(t)
}

// A Pool's options and its other calls hold on a cluster: the initializer runs once in each
// worker process and maxtasksperchild retires that process (a new pid) after its tasks;
// starmap, imap, and map_async with its callback and error callback give what they give
// locally.
func TestClusterPoolOptionsAndCalls(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 1, 1)
	r := c.run(t, `
local mp = require("mp")
local pool = mp.Pool{processes = 1, maxtasksperchild = 3, initargs = {"w"},
  initializer = function(tag) inits = (inits or 0) + 1; prefix = tag end}
local pids, got = {}, {}
for i = 1, 7 do
  local v = pool:apply(function() calls = (calls or 0) + 1 return {prefix .. inits .. ":" .. calls, mp.current_process().pid} end)
  got[i] = v[1]
  if pids[#pids] ~= v[2] then pids[#pids + 1] = v[2] end
end
print(table.concat(got, " "), #pids .. " processes")
print(table.concat(pool:starmap(function(a, b) return a + b end, {{1, 2}, {3, 4}}), " "))
local seen = {}
for v in pool:imap(function(x) return x * 10 end, {1, 2, 3}, 1) do seen[#seen + 1] = v end
print(table.concat(seen, " "))
local done, failed
pool:map_async(function(x) return x + 1 end, {1, 2}, 1, function(r) done = table.concat(r, " ") end):wait(60)
pool:map_async(function(x) error("no " .. x) end, {5}, 1, nil, function(e) failed = tostring(e) end):wait(60)
mp.sleep(0)
print(done, failed:match("job.lua:%d+: no 5"))
`)
	r.expect(t, 0, "w1:1 w1:2 w1:3 w1:1 w1:2 w1:3 w1:1\t3 processes\n3 7\n10 20 30\n2 3\tjob.lua:18: no 5\n", "")
	c.stop(t)
}
