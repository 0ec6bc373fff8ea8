package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/plugins"
)

// The tests of this file run processes through the built binary, and check
// what the operating system sees as well as what the scripts print: pids,
// exit statuses, signals, open descriptors, leftover files. None of them
// sleeps to wait for another process; each waits for a line, a file or an
// exit, with a bound, so that a hang fails in seconds.

// apiScript runs the same suite of Process API checks in the main script
// and in a child, whose own children are then grandchildren of the host.
// Children report through their exit status or a file, so the lines of
// stdout come in a fixed order: the main suite's, then the child's.
const apiScript = `local mp = require("mp")

-- suite checks the Process API from the process it runs in. where tags its
-- lines; first is the name its first unnamed process must get; parent_pid is
-- the pid mp.parent_process() must give (nil in the main script).
local function suite(where, first, parent_pid)
  local function say(...) print(where, ...) end
  -- raises reports how a pcall made on the caller's line ended: "raises"
  -- when the error starts with this file's name and that line.
  local function raises(ok, err)
    local prefix = "api.lua:" .. debug.getinfo(2, "l").currentline .. ": "
    if ok then return "did not raise" end
    if type(err) ~= "string" or err:sub(1, #prefix) ~= prefix then
      return "raised without " .. prefix .. ": " .. tostring(err)
    end
    return "raises"
  end
  local function slurp(path)
    local f = io.open(path)
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    os.remove(path)
    return s
  end

  local me = mp.current_process()
  say("current", me.name, me.pid > 0)
  local pp = mp.parent_process()
  if parent_pid then say("parent", pp.name, pp.pid == parent_pid) else say("parent", pp) end

  -- target, args, kwargs: the child exits 0 only when it got them all.
  local function check_args(a, b, kw)
    os.exit((a == 1 and b == "two" and kw.k == 3 and kw.nested[1] == "x") and 0 or 9)
  end
  local p = mp.Process{target = check_args, args = {1, "two"}, kwargs = {k = 3, nested = {"x"}}, daemon = false}
  say("default name", p.name == first, p.name)
  say("before start", p.pid, p.exitcode, p.daemon, p:is_alive())
  p:start()
  say("pid", type(p.pid) == "number" and p.pid > 0 and p.pid ~= me.pid)
  say("join", p:join())
  say("after join", p.exitcode, p:is_alive())
  say("start twice", raises(pcall(p.start, p)))
  say("close", pcall(p.close, p))
  say("join after close", raises(pcall(p.join, p)))

  -- name, daemon, join with a timeout, active_children, terminate
  local sleeper = mp.Process{target = function() mp.sleep(60) end, name = where .. "-sleeper", daemon = true}
  say("sleeper", sleeper.name, sleeper.daemon)
  sleeper:start()
  say("join(0.1)", sleeper:join(0.1), sleeper:is_alive(), sleeper.exitcode)
  local active = mp.active_children()
  say("active_children", #active, active[1] == sleeper)
  say("close while running", raises(pcall(sleeper.close, sleeper)))
  sleeper:terminate()
  say("join after terminate", sleeper:join(10), sleeper.exitcode, sleeper:is_alive())
  say("close after end", pcall(sleeper.close, sleeper))
  say("active_children after", #mp.active_children())

  local spinner = mp.Process{target = function() while true do end end}
  spinner:start()
  spinner:kill()
  say("join after kill", spinner:join(10), spinner.exitcode)

  -- an uncaught error, raised on the line that defines fail
  local function fail() error("boom in " .. where) end
  local failing = mp.Process{target = fail, name = where .. "-failing"}
  failing:start()
  failing:join()
  say("uncaught error", failing.exitcode)
  print("stderr", failing.name, failing.pid, "api.lua:" .. debug.getinfo(fail, "S").linedefined .. ": boom in " .. where)

  local exiting = mp.Process{target = function() os.exit(3) end}
  exiting:start()
  say("os.exit(3)", exiting:join(), exiting.exitcode)

  -- a subclass; its run writes what it sees to a file
  local Sub = mp.Process:extend()
  function Sub:init(file, n)
    mp.Process.init(self, {name = where .. "-sub"})
    self.file, self.n = file, n
  end
  function Sub:run()
    local cur, par = mp.current_process(), mp.parent_process()
    local f = assert(io.open(self.file, "w"))
    f:write(table.concat({tostring(self.pid == cur.pid), self.pid, self.name, cur.name, par.name, par.pid, self.n}, " "))
    f:close()
  end
  local sub = Sub(where .. "-sub.txt", 42)
  say("subclass before start", sub.name, sub.n, sub.pid)
  sub:start()
  say("subclass join", sub:join(), sub.exitcode)
  local saw = slurp(where .. "-sub.txt")
  say("subclass saw", saw == table.concat({"true", sub.pid, where .. "-sub", where .. "-sub", me.name, me.pid, 42}, " "), saw)

  local second = mp.Process{target = function() end}
  say("default name later", second.name)
end

local nested = mp.Process{target = suite, args = {"child", "Process-1:1", mp.current_process().pid}}
suite("main", "Process-2", nil)
nested:start()
print("nested", nested:join(), nested.exitcode, nested.name)
`

// apiSuiteOutput is what suite prints in one process, with %[1]s its tag,
// %[2]s the process's name, %[3]s the parent line's values, %[4]s and %[5]s
// the default names of its first and last unnamed processes.
const apiSuiteOutput = `%[1]s	current	%[2]s	true
%[1]s	parent	%[3]s
%[1]s	default name	true	%[4]s
%[1]s	before start	nil	nil	false	false
%[1]s	pid	true
%[1]s	join	true
%[1]s	after join	0	false
%[1]s	start twice	raises
%[1]s	close	true
%[1]s	join after close	raises
%[1]s	sleeper	%[1]s-sleeper	true
%[1]s	join(0.1)	false	true	nil
%[1]s	active_children	1	true
%[1]s	close while running	raises
%[1]s	join after terminate	true	-15	false
%[1]s	close after end	true
%[1]s	active_children after	0
%[1]s	join after kill	true	-9
%[1]s	uncaught error	1
%[1]s	os.exit(3)	true	3
%[1]s	subclass before start	%[1]s-sub	42	nil
%[1]s	subclass join	true	0
%[1]s	subclass saw	true	%[6]s
%[1]s	default name later	%[5]s
`

func TestProcessAPIFromMainAndChild(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"api.lua": apiScript})
	r := mphost(t, dir, "run", "api.lua")
	if r.code != 0 {
		t.Errorf("exit = %d, want 0; stderr:\n%s", r.code, r.stderr)
	}

	// The "stderr" lines say what each failing child must have printed. A
	// "subclass saw" line ends with what the subclass wrote (its pids), only
	// echoed for the message: the check is the true before it.
	type failure struct{ name, pid, message string }
	var failures []failure
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "stderr\t"); ok {
			f := strings.SplitN(rest, "\t", 3)
			if len(f) != 3 {
				t.Fatalf("bad stderr line %q", line)
			}
			failures = append(failures, failure{f[0], f[1], f[2]})
			continue
		}
		got = append(got, line)
	}
	saw := map[string]string{}
	for _, line := range got {
		f := strings.Split(line, "\t")
		if len(f) == 4 && f[1] == "subclass saw" {
			saw[f[0]] = f[3]
		}
	}
	want := fmt.Sprintf(apiSuiteOutput, "main", "MainProcess", "nil", "Process-2", "Process-8", saw["main"]) +
		fmt.Sprintf(apiSuiteOutput, "child", "Process-1", "MainProcess\ttrue", "Process-1:1", "Process-1:7", saw["child"]) +
		"nested\ttrue\t0\tProcess-1\n"
	if diff := lineDiff(want, strings.Join(got, "\n")+"\n"); diff != "" {
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}

	// Each failing child printed its name and pid, the error with the
	// script's file:line, and a traceback; nothing else is on stderr.
	if len(failures) != 2 {
		t.Fatalf("stdout names %d failing children, want 2:\n%s", len(failures), r.stdout)
	}
	blocks := splitBlocks(r.stderr, "Process ")
	if len(blocks) != len(failures) {
		t.Fatalf("stderr has %d blocks starting \"Process \", want %d:\n%s", len(blocks), len(failures), r.stderr)
	}
	for i, f := range failures {
		lines := strings.Split(strings.TrimSuffix(blocks[i], "\n"), "\n")
		head := fmt.Sprintf("Process %s (pid %s):", f.name, f.pid)
		if len(lines) < 4 || lines[0] != head || lines[1] != f.message || lines[2] != "stack traceback:" {
			t.Errorf("stderr block %d:\n%s\nwant it to start:\n%s\n%s\nstack traceback:\n\t...", i, blocks[i], head, f.message)
			continue
		}
		file, _, _ := strings.Cut(f.message, " ")
		for _, l := range lines[3:] {
			if !strings.HasPrefix(l, "\t") {
				t.Errorf("traceback line %q does not start with a tab:\n%s", l, blocks[i])
			}
		}
		if !strings.Contains(blocks[i], "\t"+file) {
			t.Errorf("traceback does not name %s:\n%s", file, blocks[i])
		}
	}
}

// splitBlocks cuts text into blocks, each starting at a line that starts
// with head; text before the first such line is a block of its own.
func splitBlocks(text, head string) []string {
	var blocks []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if len(blocks) == 0 || strings.HasPrefix(line, head) {
			blocks = append(blocks, "")
		}
		blocks[len(blocks)-1] += line
	}
	return blocks
}

// lineDiff returns the lines that differ between want and got, or "".
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%q\n+%q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestClosureTargets(t *testing.T) {
	t.Parallel()
	// The script runs from the folder above its own: its modules are found
	// beside it, in the host and in every child.
	dir := writeFiles(t, map[string]string{
		"app/job.lua": `local mp = require("mp")
local shapes = require("shapes")

helpers = {double = function(x) return 2 * x end, label = "helper"}
function shout(s) return s:upper() .. "!" end

local function run(target, ...)
  local p = mp.Process{target = target, args = {...}}
  p:start()
  p:join()
  if p.exitcode ~= 0 then print("exitcode", p.exitcode) end
end

-- upvalues are a snapshot taken at start
local base = 10
local function adder(k) return function(x) print("adder", base + k + x) end end
local p = mp.Process{target = adder(5), args = {1}}
p:start()
base = 1000
p:join()

-- two closures that share an upvalue still share it in the child
local count = 0
local function bump() count = count + 1 return count end
local function read() return count end
run(function() bump() bump() print("shared", read(), count) end)
print("count in parent", count)

-- a recursive local function is its own upvalue
local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
run(function(n) print("fact", fact(n)) end, 10)

-- globals the target reads travel with it: a table of helpers, a function
run(function(x) print("globals", helpers.label, helpers.double(x), shout("hi")) end, 21)

-- a module's function as the target; one that requires another module in the child
run(shapes.describe, 3, 4)
run(shapes.fancy, 5)

-- an upvalue with a metatable and methods
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:norm2() return self.x * self.x + self.y * self.y end
local pt = Point.new(3, 4)
run(function() print("method", pt:norm2(), getmetatable(pt) == Point) end)
`,
		"app/shapes.lua": `local M = {unit = "cm2"}
function M.describe(w, h) print("module", w * h, M.unit) end
function M.fancy(n) local stars = require("util.stars") print("fancy", stars(n)) end
return M
`,
		"app/util/stars.lua": `return function(n) return string.rep("*", n) end
`,
	})
	mphost(t, dir, "run", filepath.Join("app", "job.lua")).expect(t, 0, `adder	16
shared	2	2
count in parent	0
fact	3628800
globals	helper	42	HI!
module	12	cm2
fancy	*****
method	25	true
`, "")
}

func TestUnsendableTargetRefused(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"job.lua": `local mp = require("mp")
local co = coroutine.create(function() end)
local p = mp.Process{target = function() return co end}
local ok, err = pcall(p.start, p)
print(ok, p.pid, p:is_alive(), #mp.active_children())
print(err)
local q = mp.Process{target = print, args = {{cb = function() return co end}}}
ok, err = pcall(q.start, q)
print(ok, q.pid)
print(err)
`})
	r := mphost(t, dir, "run", "job.lua")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and none", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("stdout has %d lines, want 4:\n%s", len(lines), r.stdout)
	}
	if lines[0] != "false\tnil\tfalse\t0" || lines[2] != "false\tnil" {
		t.Errorf("after a refused start: %q and %q, want %q and %q (no pid, nothing started)",
			lines[0], lines[2], "false\tnil\tfalse\t0", "false\tnil")
	}
	// The error is raised at the line of the call, and names the value's
	// path and the line of the function that holds it.
	for _, c := range []struct{ err, at, path string }{
		{lines[1], "job.lua:4: ", "target upvalue 'co' (job.lua:3)"},
		{lines[3], "job.lua:8: ", "args[1].cb upvalue 'co' (job.lua:7)"},
	} {
		if !strings.HasPrefix(c.err, c.at) || !strings.Contains(c.err, "cannot send "+c.path) || !strings.Contains(c.err, "coroutine") {
			t.Errorf("error %q: want it to start %q and name %q and the coroutine", c.err, c.at, "cannot send "+c.path)
		}
	}
}

// fdsPerChild is how many descriptors the host may hold for one live
// child (a go-plugin client, its pipes and brokered connections; 7 when
// measured), with one to spare. A host that keeps idle children for reuse
// holds these for each; anything beyond is a leak.
const fdsPerChild = 8

func TestManyProcessesLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	const rounds, perRound = 5, 60
	// Each round starts 60 processes that are alive together: a quarter
	// return, a quarter fail, a quarter os.exit(2), a quarter are
	// terminated. The script waits on stdin after each round, while the test
	// looks at the host.
	dir := writeFiles(t, map[string]string{"many.lua": fmt.Sprintf(`local mp = require("mp")
local function work(kind)
  if kind == 3 then mp.sleep(60) end
  mp.sleep(0.2)
  if kind == 1 then error("failing on purpose") end
  if kind == 2 then os.exit(2) end
end
local want = {[0] = 0, [1] = 1, [2] = 2, [3] = -15}
print("ready")
io.read("*l")
for round = 1, %d do
  local ps = {}
  for i = 1, %d do
    ps[i] = mp.Process{target = work, args = {i %% 4}}
    ps[i]:start()
  end
  for i = 3, #ps, 4 do ps[i]:terminate() end
  local bad, pids = {}, {}
  for i, p in ipairs(ps) do
    p:join()
    if p.exitcode ~= want[i %% 4] then bad[#bad + 1] = p.name .. "=" .. tostring(p.exitcode) end
    pids[i] = p.pid
    p:close()
  end
  print("round " .. round .. " bad [" .. table.concat(bad, " ") .. "] active " .. #mp.active_children() .. " pids " .. table.concat(pids, " "))
  io.read("*l")
end
print("done")
`, rounds, perRound)})
	tmp := shortTempDir(t)
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "many.lua")
	s.nextLine(t, 30*time.Second, "ready")
	host := s.cmd.Process.Pid
	baseFDs := fdCount(t, host)

	seen := map[int]bool{} // every process of the run the test saw
	for round := 1; round <= rounds; round++ {
		s.answer(t)
		line := s.nextLine(t, 60*time.Second, "round ")
		head, pidList, _ := strings.Cut(line, " pids ")
		if want := fmt.Sprintf("round %d bad [] active 0", round); head != want {
			t.Errorf("%q, want %q", head, want)
		}
		pids := fieldsToPids(t, pidList)
		if len(pids) != perRound {
			t.Errorf("round %d: %d pids, want %d", round, len(pids), perRound)
		}
		for _, pid := range pids {
			seen[pid] = true
		}
		// The joined processes are reaped, and the host holds no more
		// descriptors than its live children explain.
		var live, zombies []int
		var fds int
		ok := poll(5*time.Second, func() bool {
			live, zombies = childrenOf(host)
			fds = fdCount(t, host)
			return len(zombies) == 0 && fds <= baseFDs+fdsPerChild*len(live)+16
		})
		for _, pid := range live {
			seen[pid] = true
		}
		if !ok {
			t.Errorf("after round %d: %d live children, zombies %v, %d descriptors (%d before the first round, at most %d per live child allowed)\n%s",
				round, len(live), zombies, fds, baseFDs, fdsPerChild, fdList(host))
		}
		t.Logf("after round %d: %d live children of the host, %d descriptors", round, len(live), fds)
	}
	s.answer(t)
	s.nextLine(t, 10*time.Second, "done")
	if code := s.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit = %d, want 0", code)
	}
	// 75 processes failed, each printing its name, pid and traceback.
	if n := strings.Count(s.stderr(), "failing on purpose\nstack traceback:\n"); n != rounds*perRound/4 {
		t.Errorf("stderr has %d tracebacks, want %d:\n%s", n, rounds*perRound/4, s.stderr())
	}
	if left := stillRunning(seen, 2*time.Second); len(left) > 0 {
		t.Errorf("after the run, workers %v are still running", left)
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the run left %v in its TMPDIR (%v)", names, err)
	}
}

// shortTempDir is a new empty folder for a run's TMPDIR, with a path short
// enough for the run's socket paths (t.TempDir's is not: see
// TestProcessStartWithLongTMPDIR).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestProcessStartWithLongTMPDIR runs a process with TMPDIR set to
// t.TempDir(), a path of 50-odd bytes, and to a path of 60 bytes.
func TestProcessStartWithLongTMPDIR(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"one.lua": `local mp = require("mp")
local p = mp.Process{target = function() print("child ran") end}
p:start()
p:join()
print("exitcode", p.exitcode)
`})
	base := shortTempDir(t)
	long := filepath.Join(base, strings.Repeat("d", max(1, 60-len(base)-1)))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tmp := range []string{t.TempDir(), long} {
		for range 3 {
			r := runWithEnv(t, dir, []string{"TMPDIR=" + tmp}, "run", "one.lua")
			if r.code != 0 || r.stdout != "child ran\nexitcode\t0\n" {
				t.Fatalf("with TMPDIR=%s (%d bytes): exit %d, stdout %q, stderr:\n%s", tmp, len(tmp), r.code, r.stdout, r.stderr)
			}
		}
	}
}

func TestHundredAliveAtOnce(t *testing.T) {
	t.Parallel()
	// Each child says it is alive with a file, then waits for the go file:
	// none can end before all 100 are alive.
	dir := writeFiles(t, map[string]string{"hundred.lua": `local mp = require("mp")
local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end
local function wait_for(test)
  for _ = 1, 400 do
    if test() then return true end
    mp.sleep(0.05)
  end
  return false
end
local function child(i)
  io.open("alive-" .. i, "w"):close()
  if not wait_for(function() return exists("go") end) then os.exit(2) end
end
local ps = {}
for i = 1, 100 do
  ps[i] = mp.Process{target = child, args = {i}}
  ps[i]:start()
end
local all = wait_for(function()
  for i = 1, 100 do if not exists("alive-" .. i) then return false end end
  return true
end)
print("all alive", all, #mp.active_children())
local pids = {}
for _, p in ipairs(ps) do pids[p.pid] = true end
local distinct = 0
for _ in pairs(pids) do distinct = distinct + 1 end
print("distinct pids", distinct)
io.open("go", "w"):close()
local ok = 0
for _, p in ipairs(ps) do
  if p:join(30) and p.exitcode == 0 then ok = ok + 1 end
end
print("exit 0", ok, #mp.active_children())
`})
	r := invocation{args: []string{"run", "hundred.lua"}, dir: dir, timeout: 60 * time.Second}.run(t)
	r.expect(t, 0, "all alive\ttrue\t100\ndistinct pids\t100\nexit 0\t100\t0\n", "")
}

// childrenScript starts n children that print their pids and sleep long;
// the main script then waits for them, or with the argument "busy" spins.
const childrenScript = `local mp = require("mp")
local n = tonumber(arg[1])
local ps = {}
for i = 1, n do
  ps[i] = mp.Process{target = function() print("pid " .. mp.current_process().pid) mp.sleep(600) end}
  ps[i]:start()
end
if arg[2] == "busy" then while true do end end
for _, p in ipairs(ps) do p:join() end
print("joined")
`

// startChildren starts the binary on childrenScript and returns once every
// child has printed its pid, with the pids of all the host's children then.
func startChildren(t *testing.T, n int, setpgid bool, mode string) (*session, []int) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"children.lua": childrenScript})
	s := startSession(t, dir, nil, setpgid, "run", "children.lua", strconv.Itoa(n), mode)
	var pids []int
	for range n {
		pid, err := strconv.Atoi(strings.TrimPrefix(s.nextLine(t, 30*time.Second, "pid "), "pid "))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	host := s.cmd.Process.Pid
	live, _ := childrenOf(host)
	for _, pid := range pids {
		if !slices.Contains(live, pid) {
			t.Fatalf("pid %d is not a running child of the host (pid %d); its children: %v", pid, host, live)
		}
	}
	t.Cleanup(func() { killWorkers(live) })
	return s, live
}

func TestKillHostLeavesNoOrphans(t *testing.T) {
	t.Parallel()
	// PID 1 of a container may not reap orphans; as their subreaper, the
	// test reaps them itself, and tells a zombie from a running process.
	becomeSubreaper(t)
	s, workers := startChildren(t, 5, false, "")
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	left := stillRunning(setOf(workers), 2*time.Second)
	if len(left) > 0 {
		t.Errorf("2s after kill -9 of the host, its children %v are still running", left)
	} else {
		t.Logf("all %d children of the host ended %v after it was killed", len(workers), time.Since(killed).Round(time.Millisecond))
	}
	s.wait(t, 5*time.Second)
}

func TestInterruptExits130(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mode string // "busy": the main script spins instead of joining
		sig  syscall.Signal
		// group sends the signal to the host's process group, as a
		// terminal's Ctrl-C does; otherwise to the host alone.
		group bool
		code  int
	}{
		{"SIGINT to the group", "", syscall.SIGINT, true, 130},
		{"SIGINT to the group while the script spins", "busy", syscall.SIGINT, true, 130},
		{"SIGTERM to the host", "", syscall.SIGTERM, false, 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, workers := startChildren(t, 3, true, tt.mode)
			pid := s.cmd.Process.Pid
			if tt.group {
				pid = -pid
			}
			if err := syscall.Kill(pid, tt.sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			code := s.wait(t, 5*time.Second)
			t.Logf("exited %d after %v", code, time.Since(sent).Round(time.Millisecond))
			if code != tt.code {
				t.Errorf("exit = %d, want %d", code, tt.code)
			}
			if n := strings.Count(s.stderr(), "\n"); n > 1 || (n == 0 && s.stderr() != "") {
				t.Errorf("stderr has %d lines, want at most one:\n%s", n, s.stderr())
			}
			if strings.Contains(s.stdout(), "joined") {
				t.Errorf("the script went on after the signal:\n%s", s.stdout())
			}
			if left := stillRunning(setOf(workers), 2*time.Second); len(left) > 0 {
				t.Errorf("children %v of the host still run after it exited", left)
			}
		})
	}
}

func TestOutputBeforeKillIsKept(t *testing.T) {
	t.Parallel()
	const lines = 1000
	dir := writeFiles(t, map[string]string{"flood.lua": `local mp = require("mp")
local function wait_for(path)
  for _ = 1, 2000 do
    local f = io.open(path)
    if f then f:close() return true end
    mp.sleep(0.01)
  end
  return false
end
-- prints, says so with a file, then spins until killed
local function flood(n, marker)
  for i = 1, n do print(string.format("line %04d %s", i, string.rep("x", 60))) end
  io.open(marker, "w"):close()
  while true do end
end
local function partial(marker)
  io.write("partial line")
  io.open(marker, "w"):close()
  while true do end
end
local p = mp.Process{target = flood, args = {tonumber(arg[1]), "flood.done"}}
p:start()
local seen = wait_for("flood.done")
p:kill()
local joined = p:join(10)
print("flood", seen, joined, p.exitcode)
local q = mp.Process{target = partial, args = {"partial.done"}}
q:start()
seen = wait_for("partial.done")
q:kill()
joined = q:join(10)
print("partial", seen, joined, q.exitcode)
`})
	var want strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&want, "line %04d %s\n", i, strings.Repeat("x", 60))
	}
	want.WriteString("flood\ttrue\ttrue\t-9\npartial line\npartial\ttrue\ttrue\t-9\n")
	r := mphost(t, dir, "run", "flood.lua", strconv.Itoa(lines))
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and none", r.code, r.stderr)
	}
	if diff := lineDiff(want.String(), r.stdout); diff != "" {
		if len(diff) > 2000 {
			diff = diff[:2000] + "..."
		}
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}

func TestTimeoutFlag(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"forever.lua": `local mp = require("mp")
local p = mp.Process{target = function() mp.sleep(600) end}
p:start()
print("pid " .. p.pid)
p:join()
print("joined")
`})
	start := time.Now()
	r := invocation{args: []string{"run", "--timeout", "300ms", "forever.lua"}, dir: dir, timeout: 20 * time.Second}.run(t)
	took := time.Since(start)
	if took > 5*time.Second {
		t.Errorf("the run took %v with --timeout 300ms", took)
	}
	if r.code != 124 {
		t.Errorf("exit = %d, want 124", r.code)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.Contains(r.stderr, "300ms") {
		t.Errorf("stderr = %q, want one line that names the 300ms", r.stderr)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.stdout, "pid "), "\n"))
	if err != nil {
		t.Fatalf("stdout = %q, want only the child's pid", r.stdout)
	}
	if left := stillRunning(setOf([]int{pid}), 2*time.Second); len(left) > 0 {
		killWorkers(left)
		t.Errorf("the child %d still runs after the host timed out", pid)
	}
}

func TestPrefixFlag(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"prefix.lua": `local mp = require("mp")
print("main before")
local p = mp.Process{target = function()
  print("child line")
  io.stderr:write("child error line\n")
  io.write("child partial")
end}
p:start()
p:join()
local q = mp.Process{target = function() print("named line") end, name = "w1"}
q:start()
q:join()
print("main after " .. p.pid .. " " .. q.pid)
`})
	for _, prefix := range []bool{true, false} {
		t.Run(fmt.Sprintf("prefix=%v", prefix), func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "prefix.lua"}
			if prefix {
				args = []string{"run", "--prefix", "prefix.lua"}
			}
			r := mphost(t, dir, args...)
			var p, q string
			if m := regexp.MustCompile(`(?m)^main after (\d+) (\d+)$`).FindStringSubmatch(r.stdout); m != nil {
				p, q = m[1], m[2]
			} else {
				t.Fatalf("stdout lacks the pids line:\n%s", r.stdout)
			}
			pp, qp := "", ""
			if prefix {
				pp, qp = "[Process-1 "+p+"] ", "[w1 "+q+"] "
			}
			r.expect(t, 0,
				"main before\n"+pp+"child line\n"+pp+"child partial\n"+qp+"named line\nmain after "+p+" "+q+"\n",
				pp+"child error line\n")
		})
	}
}

// session is a run of the binary that a test drives while it runs: it reads
// stdout as it comes, answers on stdin, signals the process.
type session struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *lineBuffer
	errBuf lineBuffer
	exited chan struct{} // closed once Wait has returned
	err    error         // from Wait, once exited is closed
}

// startSession starts the binary in dir with extra environment variables,
// in a process group of its own when setpgid is set. The test's cleanup
// kills it (and its group) if it still runs.
func startSession(t *testing.T, dir string, env []string, setpgid bool, args ...string) *session {
	t.Helper()
	s := &session{out: newLineBuffer(), exited: make(chan struct{})}
	s.errBuf.changed = make(chan struct{})
	s.cmd = exec.Command(binary, args...)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, &s.errBuf
	s.cmd.WaitDelay = 5 * time.Second
	if setpgid {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = stdin
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		if setpgid {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		} else {
			s.cmd.Process.Kill()
		}
		<-s.exited
	})
	return s
}

// runWithEnv runs the binary to its end with extra environment variables,
// as invocation.run does without them.
func runWithEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	s := startSession(t, dir, env, false, args...)
	code := s.wait(t, runTimeout)
	return result{stdout: s.stdout(), stderr: s.stderr(), code: code}
}

// nextLine returns the next line of stdout, which must start with prefix.
func (s *session) nextLine(t *testing.T, timeout time.Duration, prefix string) string {
	t.Helper()
	line, ok := s.out.next(timeout, s.exited)
	if !ok {
		t.Fatalf("no line starting %q on stdout within %v (exited: %v)\nstdout:\n%s\nstderr:\n%s",
			prefix, timeout, s.hasExited(), s.stdout(), s.stderr())
	}
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("stdout line %q, want one starting %q\nstderr:\n%s", line, prefix, s.stderr())
	}
	return line
}

// answer writes an empty line to the script's stdin.
func (s *session) answer(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, "\n"); err != nil {
		t.Fatalf("writing to stdin: %v\nstderr:\n%s", err, s.stderr())
	}
}

func (s *session) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// wait waits for the binary to exit and returns its exit status; it fails
// the test if the binary is still running after timeout.
func (s *session) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		t.Fatalf("still running %v later\nstdout:\n%s\nstderr:\n%s", timeout, s.stdout(), s.stderr())
	}
	var exitErr *exec.ExitError
	if s.err != nil && !errors.As(s.err, &exitErr) {
		t.Fatalf("wait: %v", s.err)
	}
	return s.cmd.ProcessState.ExitCode() // -1 when killed by a signal
}

func (s *session) stdout() string { return s.out.String() }
func (s *session) stderr() string { return s.errBuf.String() }

// lineBuffer collects what a process writes and hands out its lines as
// they complete.
type lineBuffer struct {
	mu      sync.Mutex
	data    bytes.Buffer
	read    int           // bytes of data handed out as lines
	changed chan struct{} // closed, and replaced, at each write
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data.String()
}

// next returns the next whole line, without its newline; ok is false if
// none comes within timeout, or the process has exited (done is closed)
// without writing one.
func (b *lineBuffer) next(timeout time.Duration, done <-chan struct{}) (line string, ok bool) {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		rest := b.data.Bytes()[b.read:]
		changed := b.changed
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			b.read += i + 1
			b.mu.Unlock()
			return string(rest[:i]), true
		}
		b.mu.Unlock()
		if done == nil {
			return "", false
		}
		select {
		case <-changed:
		case <-done:
			// Wait has returned, so all the output is in: one more look.
			done = nil
		case <-deadline:
			return "", false
		}
	}
}

// poll calls cond every 20ms until it is true or timeout passes, and
// reports whether it became true.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat reads a process's state letter and parent pid from
// /proc/PID/stat; ok is false when there is no such process.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// childrenOf lists the processes whose parent is pid: those that run, and
// the zombies it has not reaped.
func childrenOf(pid int) (live, zombies []int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, ok := procStat(n)
		switch {
		case !ok || ppid != pid:
		case state == 'Z' || state == 'X':
			zombies = append(zombies, n)
		default:
			live = append(live, n)
		}
	}
	return live, zombies
}

// isRunningWorker reports whether pid is an mphost worker that has not
// ended. A zombie has ended: only its reaping is left. A pid taken since by
// another program is not a worker. The test reaps zombies of its own.
func isRunningWorker(pid int) bool {
	state, ppid, ok := procStat(pid)
	if !ok {
		return false
	}
	if state == 'Z' || state == 'X' {
		if ppid == os.Getpid() {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(plugins.WorkerArg))
}

// stillRunning waits up to timeout for the pids to end and returns those
// that still run.
func stillRunning(pids map[int]bool, timeout time.Duration) []int {
	var left []int
	poll(timeout, func() bool {
		left = left[:0]
		for pid := range pids {
			if isRunningWorker(pid) {
				left = append(left, pid)
			}
		}
		return len(left) == 0
	})
	slices.Sort(left)
	return left
}

// killWorkers kills whichever of pids still run as mphost workers, so that
// a failed test leaves nothing behind.
func killWorkers(pids []int) {
	for _, pid := range pids {
		if isRunningWorker(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func setOf(pids []int) map[int]bool {
	m := make(map[int]bool, len(pids))
	for _, pid := range pids {
		m[pid] = true
	}
	return m
}

func fieldsToPids(t *testing.T, s string) []int {
	t.Helper()
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %q", f, s)
		}
		pids = append(pids, pid)
	}
	return pids
}

// fdCount is the number of open descriptors of a process.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("reading the descriptors of pid %d: %v", pid, err)
	}
	return len(entries)
}

// fdList describes the open descriptors of a process by what they point
// at, with counts, for a failure message.
func fdList(pid int) string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	counts := map[string]int{}
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		kind, _, _ := strings.Cut(target, "[")
		counts[kind]++
	}
	return fmt.Sprint(counts)
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// becomeSubreaper makes the test process the one that orphans of its
// descendants are given to, instead of PID 1.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
}
