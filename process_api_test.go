package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The tests of the process_*_test.go files run processes through the built
// binary, and check what the operating system sees as well as what the
// scripts print: pids, exit statuses, signals, open descriptors, leftover
// files. None of them sleeps to wait for another process; each waits for a
// line, a file or an exit, with a bound, so that a hang fails in seconds.
//
// The tests of this file check the Process API, from the main script and
// from a child, and which targets can be sent to a child. The others:
// process_resources_test.go (what many processes leave behind),
// process_fault_test.go (a host killed, interrupted or timed out),
// process_output_test.go (what children write). Their helpers, shared with
// the pool and objects tests, are in helpers_test.go.

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
