package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The Pool API is tested by the scripts/pool_*.lua scripts (run by
// TestScripts). The tests of this file watch a Pool's workers from outside,
// where a script cannot: workers killed by the test mid-map, tasks that
// outlive task_timeout (timed by the test), workers retired by
// maxtasksperchild and Ctrl-C during a map (checked in /proc). None sleeps
// to wait for another process: they wait for a line on stdout, each with a
// bound.

// poolReader reads a session's stdout line by line and keeps every line it
// read, with the time it read it.
type poolReader struct {
	s     *session
	lines []string
	at    []time.Time
}

// until returns the next line that starts with prefix, keeping the lines
// before it; it fails the test if none comes within timeout.
func (r *poolReader) until(t *testing.T, timeout time.Duration, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		line, ok := r.s.out.next(time.Until(deadline), r.s.exited)
		if !ok {
			t.Fatalf("no line starting %q on stdout within %v (exited: %v)\nstdout:\n%s\nstderr:\n%s",
				prefix, timeout, r.s.hasExited(), r.s.stdout(), r.s.stderr())
		}
		r.lines = append(r.lines, line)
		r.at = append(r.at, time.Now())
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
}

// untilAll reads lines until, for each prefix, it has read a line that
// starts with it: what children print reaches stdout through the host, in
// no set order with what the main script prints. It fails the test if they
// do not all come within timeout.
func (r *poolReader) untilAll(t *testing.T, timeout time.Duration, prefixes ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, prefix := range prefixes {
		if !slices.ContainsFunc(r.lines, func(line string) bool { return strings.HasPrefix(line, prefix) }) {
			r.until(t, time.Until(deadline), prefix)
		}
	}
}

// find returns the line read that starts with prefix and when it was read;
// it fails the test if there is none.
func (r *poolReader) find(t *testing.T, prefix string) (string, time.Time) {
	t.Helper()
	for i, line := range r.lines {
		if strings.HasPrefix(line, prefix) {
			return line, r.at[i]
		}
	}
	t.Fatalf("stdout has no line starting %q:\n%s", prefix, strings.Join(r.lines, "\n"))
	return "", time.Time{}
}

// poolWorkerLine parses "WORD NAME PID", as the tasks of these scripts print
// their worker.
func poolWorkerLine(t *testing.T, line string) (name string, pid int) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 3 || !strings.HasPrefix(f[1], "PoolWorker-") {
		t.Fatalf("line %q is not WORD PoolWorker-N PID", line)
	}
	pid, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("line %q: bad pid", line)
	}
	return f[1], pid
}

// poolLineOf is the number of the line of src that contains fragment.
func poolLineOf(t *testing.T, src, fragment string) int {
	t.Helper()
	for i, line := range strings.Split(src, "\n") {
		if strings.Contains(line, fragment) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", fragment)
	return 0
}

// poolDeathScript runs 8 tasks in a pool of 2, one apply_async each: item 3
// prints its worker and waits to be killed by the test, item 6 ends its
// worker with os.exit(3). It reports every other item before item 3, then
// maps again on what the pool has left.
const poolDeathScript = `local mp = require("mp")
local pool = mp.Pool(2)
local function task(i)
  local me = mp.current_process()
  if i == 3 then
    print("victim " .. me.name .. " " .. me.pid)
    mp.sleep(120)
  elseif i == 6 then
    print("exiting " .. me.name .. " " .. me.pid)
    os.exit(3)
  end
  return i * 10
end
local results = {}
for i = 1, 8 do results[i] = pool:apply_async(task, {i}) end
local function report(i)
  local ok, v = pcall(results[i].get, results[i], 60)
  print("item " .. i .. " " .. tostring(ok) .. " " .. tostring(v))
end
for i = 1, 8 do
  if i ~= 3 then report(i) end
end
print("waiting for item 3")
report(3)
local after = pool:map(function() local me = mp.current_process() return me.name .. " " .. me.pid end, {1, 2, 3, 4, 5, 6}, 1)
print("after " .. table.concat(after, ","))
pool:close()
pool:join()
print("done")
`

func TestPoolWorkerDeathFailsOnlyItsTask(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"death.lua": poolDeathScript})
	s := startSession(t, dir, nil, false, "run", "death.lua")
	r := &poolReader{s: s}
	r.untilAll(t, 30*time.Second, "waiting for item 3", "victim ", "exiting ")
	victim, _ := r.find(t, "victim ")
	victimName, victimPid := poolWorkerLine(t, victim)
	exiting, _ := r.find(t, "exiting ")
	exitName, exitPid := poolWorkerLine(t, exiting)
	host := s.cmd.Process.Pid
	if live, _ := childrenOf(host); !slices.Contains(live, victimPid) {
		t.Fatalf("the victim's pid %d is not a running child of the host (pid %d): %v", victimPid, host, live)
	}
	if err := syscall.Kill(victimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.until(t, 30*time.Second, "done")
	if code := s.wait(t, 30*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}

	// Every other item succeeded; items 3 and 6 failed with an error that
	// names the worker, its pid and how it ended, raised at the get.
	at := fmt.Sprintf("death.lua:%d: Pool.apply_async: ", poolLineOf(t, poolDeathScript, "pcall(results[i].get"))
	want := map[int]string{
		3: "item 3 false " + at + fmt.Sprintf("worker %s (pid %d) died: killed by signal 9", victimName, victimPid),
		6: "item 6 false " + at + fmt.Sprintf("worker %s (pid %d) exited with code 3", exitName, exitPid),
	}
	for i := 1; i <= 8; i++ {
		line, _ := r.find(t, fmt.Sprintf("item %d ", i))
		w, failing := want[i]
		if !failing {
			w = fmt.Sprintf("item %d true %d", i, 10*i)
		}
		if failing && !strings.HasPrefix(line, w) || !failing && line != w {
			t.Errorf("%q, want %q", line, w)
		}
	}

	// The later map ran on live workers: neither dead one, and not the
	// killed process.
	after, _ := r.find(t, "after ")
	names := map[string]bool{}
	for _, entry := range strings.Split(strings.TrimPrefix(after, "after "), ",") {
		name, pid := poolWorkerLine(t, "worker "+entry)
		names[name] = true
		if name == victimName || name == exitName || pid == victimPid {
			t.Errorf("the map after the deaths ran on %s, a dead worker (victim %s pid %d, exited %s)", entry, victimName, victimPid, exitName)
		}
	}
	if len(names) > 2 {
		t.Errorf("the map after the deaths ran on %d workers %v, more than the pool's 2", len(names), names)
	}
	if left := stillRunning(setOf([]int{victimPid}), 10*time.Second); len(left) > 0 {
		t.Errorf("the killed worker %d still runs", victimPid)
	}
}

// poolMapDeathScript runs a map whose item 3 waits for the test to kill its
// worker, then a map whose item 2 calls os.exit; each map fails, naming the
// worker, while the other items still run, and the pool goes on.
const poolMapDeathScript = `local mp = require("mp")
local pool = mp.Pool(2)
local done = mp.Value(0)
local function task(i)
  if i == 3 then
    local me = mp.current_process()
    print("victim " .. me.name .. " " .. me.pid)
    mp.sleep(120)
  end
  done:add(1)
  return i * 10
end
local ok, err = pcall(pool.map, pool, task, {1, 2, 3, 4, 5, 6, 7, 8}, 1)
print("killed map " .. tostring(ok) .. " " .. tostring(err))
for _ = 1, 3000 do
  if done:get() >= 7 then break end
  mp.sleep(0.01)
end
print("others " .. done:get())
ok, err = pcall(pool.map, pool, function(i)
  if i == 2 then os.exit(3) end
  return i
end, {1, 2, 3, 4}, 1)
print("exit map " .. tostring(ok) .. " " .. tostring(err))
print("after " .. table.concat(pool:map(function(x) return x + 1 end, {1, 2, 3}), " "))
pool:close()
pool:join()
print("done")
`

// TestPoolWorkerKilledMidMap kills a worker with SIGKILL from outside while
// a map waits for its item: the map raises an error naming the worker, its
// pid and the signal, the map's other items all run, a worker that calls
// os.exit in a later map fails that map alike, and the pool still maps.
func TestPoolWorkerKilledMidMap(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"mapdeath.lua": poolMapDeathScript})
	s := startSession(t, dir, nil, false, "run", "mapdeath.lua")
	r := &poolReader{s: s}
	victim := r.until(t, 30*time.Second, "victim ")
	name, pid := poolWorkerLine(t, victim)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.until(t, 30*time.Second, "done")
	if code := s.wait(t, 30*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
	at := fmt.Sprintf("mapdeath.lua:%d: Pool.map: ", poolLineOf(t, poolMapDeathScript, "pcall(pool.map, pool, task"))
	killed, _ := r.find(t, "killed map ")
	if want := "killed map false " + at + fmt.Sprintf("worker %s (pid %d) died: killed by signal 9", name, pid); !strings.HasPrefix(killed, want) {
		t.Errorf("%q, want it to start %q", killed, want)
	}
	if others, _ := r.find(t, "others "); others != "others 7" {
		t.Errorf("%q, want the map's 7 other items run", others)
	}
	exited, _ := r.find(t, "exit map ")
	exitAt := fmt.Sprintf("mapdeath.lua:%d: Pool.map: worker PoolWorker-", poolLineOf(t, poolMapDeathScript, "ok, err = pcall(pool.map, pool, function(i)"))
	if !strings.HasPrefix(exited, "exit map false "+exitAt) || !strings.HasSuffix(exited, ") exited with code 3") {
		t.Errorf("%q, want the map's error naming the worker that exited with code 3", exited)
	}
	if after, _ := r.find(t, "after "); after != "after 2 3 4" {
		t.Errorf("%q, want the pool to map after both deaths", after)
	}
}

// poolTimeoutScript gives a pool with task_timeout = 2 a task that spins
// forever and one that sleeps for a minute; both fail, the pool goes on.
const poolTimeoutScript = `local mp = require("mp")
local pool = mp.Pool{processes = 2, task_timeout = 2}
print("warm " .. table.concat(pool:map(function(x) return x end, {1, 2}, 1), " "))
local spin = pool:apply_async(function()
  local me = mp.current_process()
  print("spinning " .. me.name .. " " .. me.pid)
  while true do end
end)
print("others " .. table.concat(pool:map(function(x) return x * 2 end, {1, 2, 3}, 1), " "))
local ok, err = pcall(spin.get, spin, 30)
print("spin " .. tostring(ok) .. " " .. tostring(err))
ok, err = pcall(pool.apply, pool, function() mp.sleep(60) end)
print("sleeper " .. tostring(ok) .. " " .. tostring(err))
print("in time " .. pool:apply(function() mp.sleep(0.05) return "ok" end))
print("after " .. table.concat(pool:map(function(x) return x + 1 end, {1, 2, 3, 4}), " "))
pool:close()
pool:join()
print("done")
`

func TestPoolTaskTimeout(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"timeout.lua": poolTimeoutScript})
	s := startSession(t, dir, nil, false, "run", "timeout.lua")
	r := &poolReader{s: s}
	spinning := r.until(t, 30*time.Second, "spinning ")
	began := r.at[len(r.at)-1]
	name, pid := poolWorkerLine(t, spinning)
	spin := r.until(t, 30*time.Second, "spin ")
	took := r.at[len(r.at)-1].Sub(began)
	r.until(t, 30*time.Second, "done")
	if code := s.wait(t, 30*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
	t.Logf("the spinning task failed %v after it started", took.Round(time.Millisecond))
	if took < time.Second || took > 30*time.Second { // a bound against a hang, not a speed
		t.Errorf("the spinning task failed %v after it started, want about 2s", took)
	}
	at := fmt.Sprintf("timeout.lua:%d: Pool.apply_async: ", poolLineOf(t, poolTimeoutScript, "pcall(spin.get"))
	if want := fmt.Sprintf("spin false %stask timed out after 2s; worker %s (pid %d) was killed", at, name, pid); spin != want {
		t.Errorf("%q\nwant %q", spin, want)
	}
	sleeper, _ := r.find(t, "sleeper ")
	at = fmt.Sprintf("timeout.lua:%d: Pool.apply: task timed out after 2s; worker PoolWorker-", poolLineOf(t, poolTimeoutScript, "pcall(pool.apply"))
	if !strings.HasPrefix(sleeper, "sleeper false "+at) || !strings.HasSuffix(sleeper, " was killed") {
		t.Errorf("%q, want it to start %q and end %q", sleeper, "sleeper false "+at, " was killed")
	}
	for _, want := range []string{"warm 1 2", "others 2 4 6", "in time ok", "after 2 3 4 5"} {
		if line, _ := r.find(t, strings.Fields(want)[0]+" "); line != want {
			t.Errorf("%q, want %q", line, want)
		}
	}
	if left := stillRunning(setOf([]int{pid}), 10*time.Second); len(left) > 0 {
		t.Errorf("the worker %d of the timed-out task still runs", pid)
	}
}

func TestPoolMaxTasksPerChild(t *testing.T) {
	t.Parallel()
	// Each task counts in a global of its worker's VM how many tasks that
	// worker ran, and reports it with the worker's name and pid. After the
	// first 10 the script waits for a line on stdin, while the test looks
	// at the retired workers' pids.
	dir := writeFiles(t, map[string]string{"retire.lua": `local mp = require("mp")
local pool = mp.Pool{processes = 2, maxtasksperchild = 2}
local function task(i)
  RUN = (RUN or 0) + 1
  local me = mp.current_process()
  return i .. " " .. me.name .. " " .. me.pid .. " " .. RUN
end
for i = 1, 10 do print(pool:apply(task, {i})) end
print("check")
io.read()
local rs = {}
for i = 11, 20 do rs[#rs + 1] = pool:apply_async(task, {i}) end
for _, r in ipairs(rs) do print(r:get(30)) end
print("map " .. table.concat(pool:map(function(x) return x * x end, {1, 2, 3, 4, 5, 6}, 1), " "))
pool:close()
pool:join()
`})
	s := startSession(t, dir, nil, false, "run", "retire.lua")
	runs := map[string][]int{} // per worker name, the counts its tasks saw
	pids := map[string]int{}   // per worker name, its pid
	task := func(i int) {
		line := s.nextLine(t, 30*time.Second, strconv.Itoa(i)+" ")
		var n, pid, run int
		var name string
		if _, err := fmt.Sscanf(line, "%d %s %d %d", &n, &name, &pid, &run); err != nil || n != i {
			t.Fatalf("line %q, want %d NAME PID RUN", line, i)
		}
		runs[name] = append(runs[name], run)
		if old, ok := pids[name]; ok && old != pid {
			t.Errorf("worker %s ran in pids %d and %d", name, old, pid)
		}
		pids[name] = pid
	}
	for i := 1; i <= 10; i++ {
		task(i)
	}
	s.nextLine(t, 30*time.Second, "check")
	// The workers that ran their 2 tasks have retired: their OS processes
	// are gone, not kept for reuse.
	retired := map[int]bool{}
	for name, seen := range runs {
		if len(seen) == 2 {
			retired[pids[name]] = true
		}
	}
	if len(retired) < 4 {
		t.Errorf("10 tasks retired %d workers, want at least 4: %v", len(retired), runs)
	}
	if left := stillRunning(retired, 10*time.Second); len(left) > 0 {
		t.Errorf("the OS processes %v of retired workers still run", left)
	}
	s.answer(t)
	for i := 11; i <= 20; i++ {
		task(i)
	}
	s.nextLine(t, 30*time.Second, "map 1 4 9 16 25 36")
	if code := s.wait(t, 30*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
	for name, seen := range runs {
		// A worker runs at most 2 tasks, in a VM of its own.
		if len(seen) > 2 || !slices.Equal(seen, []int{1, 2}[:len(seen)]) {
			t.Errorf("worker %s ran tasks that counted %v, want at most 2 counting 1, 2", name, seen)
		}
	}
	if len(runs) < 10 {
		t.Errorf("20 tasks ran on %d workers, want at least 10 with maxtasksperchild=2: %v", len(runs), runs)
	}
	// Each worker is a new OS process: no two workers share a pid.
	byPid := map[int]string{}
	for name, pid := range pids {
		if other, ok := byPid[pid]; ok {
			t.Errorf("workers %s and %s both ran in pid %d", other, name, pid)
		}
		byPid[pid] = name
	}
}

// poolInterruptScript starts a map of 6 long tasks on 3 workers; each task says
// it runs, then sleeps, or with the argument "spin" spins.
const poolInterruptScript = `local mp = require("mp")
local spin = arg[1] == "spin"
local pool = mp.Pool(3)
local function long(x)
  print("task " .. x .. " " .. mp.current_process().pid)
  if spin then while true do end end
  mp.sleep(120)
  return x
end
print("mapping")
pool:map(long, {1, 2, 3, 4, 5, 6}, 1)
print("mapped")
`

func TestPoolInterruptDuringMap(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"sleep", "spin"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"interrupt.lua": poolInterruptScript})
			s := startSession(t, dir, nil, true, "run", "interrupt.lua", mode)
			r := &poolReader{s: s}
			r.until(t, 30*time.Second, "mapping")
			var tasks []int
			for range 3 {
				f := strings.Fields(r.until(t, 30*time.Second, "task "))
				pid, err := strconv.Atoi(f[len(f)-1])
				if err != nil {
					t.Fatalf("bad task line %q", strings.Join(f, " "))
				}
				tasks = append(tasks, pid)
			}
			host := s.cmd.Process.Pid
			live, _ := childrenOf(host)
			t.Cleanup(func() { killWorkers(live) })
			for _, pid := range tasks {
				if !slices.Contains(live, pid) {
					t.Fatalf("task pid %d is not a running child of the host (pid %d): %v", pid, host, live)
				}
			}
			if err := syscall.Kill(-host, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			code := s.wait(t, 30*time.Second)
			took := time.Since(sent)
			t.Logf("exited %d %v after SIGINT; the host had %d children", code, took.Round(time.Millisecond), len(live))
			if code != 130 {
				t.Errorf("exit = %d, want 130", code)
			}
			// A quiet machine takes 20-90 ms; the bound stops a hang and
			// leaves room for a loaded one (the race suite, 4 tests a CPU).
			if took > 5*time.Second {
				t.Errorf("exited %v after SIGINT, want a few seconds at most", took)
			}
			if n := strings.Count(s.stderr(), "\n"); n > 1 || n == 0 && s.stderr() != "" {
				t.Errorf("stderr has %d lines, want at most one:\n%s", n, s.stderr())
			}
			if strings.Contains(s.stdout(), "mapped") {
				t.Errorf("the script went on after the signal:\n%s", s.stdout())
			}
			if left := stillRunning(setOf(live), 10*time.Second); len(left) > 0 {
				t.Errorf("children %v of the host still run after it exited", left)
			}
		})
	}
}

// poolAbandonScript leaves three pools behind: one busy with a task that
// sleeps for a minute, one idle, and one made by a child that returns
// without closing it. It prints every worker's pid first.
const poolAbandonScript = `local mp = require("mp")
local function pids(pool)
  return table.concat(pool:map(function() mp.sleep(0.05) return mp.current_process().pid end, {1, 2}, 1), " ")
end
local busy, idle = mp.Pool(2), mp.Pool(2)
print("busy " .. pids(busy))
print("idle " .. pids(idle))
busy:apply_async(function() mp.sleep(60) end, {})
local q = mp.Queue()
local child = mp.Process{target = function(q)
  local mine = mp.Pool(2)
  q:put(pids(mine))
end, args = {q}}
child:start()
print("child's " .. q:get(true, 30))
child:join(30)
print("done")
`

// TestAbandonedPoolsEndWithTheScript: pools never closed, busy or idle, in
// the main script or in a child, end with their owner: the run exits at
// once and none of their workers is left running.
func TestAbandonedPoolsEndWithTheScript(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"abandon.lua": poolAbandonScript})
	s := startSession(t, dir, nil, false, "run", "abandon.lua")
	r := &poolReader{s: s}
	r.until(t, 30*time.Second, "done")
	if code := s.wait(t, 30*time.Second); code != 0 || s.stderr() != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and no stderr", code, s.stderr())
	}
	var workers []int
	for _, prefix := range []string{"busy ", "idle ", "child's "} {
		line, _ := r.find(t, prefix)
		for _, f := range strings.Fields(strings.TrimPrefix(line, prefix)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			workers = append(workers, pid)
		}
	}
	if left := stillRunning(setOf(workers), 10*time.Second); len(left) > 0 {
		t.Errorf("workers %v of abandoned pools still run after the script ended (workers %v)", left, workers)
	}
}
