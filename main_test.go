package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// binary is the path of the mphost binary that TestMain builds once for every
// test of the package.
var binary string

// runTimeout bounds one run of the binary in the CLI tests, so that a hang
// fails the test instead of stalling the whole suite.
const runTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	raiseParallel()
	os.Exit(buildAndRun(m))
}

// buildAndRun builds the binary into a temporary folder, runs the tests and
// removes the folder. The binary gets the race detector when the test binary
// has it, so that `go test -race` checks the code the scripts run.
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mphost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mphost tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "mphost")
	args := []string{"build", "-o", binary}
	if raceEnabled() {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "mphost tests: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return m.Run()
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// invocation is one run of the built binary.
type invocation struct {
	args    []string
	dir     string        // working directory; "" is the test's own (the repository root)
	stdin   string        // fed to standard input
	timeout time.Duration // 0 means runTimeout
}

// result is what one run of the binary printed and the status it exited with.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary and returns what it did. It fails the test at once if
// the binary cannot be started, is killed by a signal, or outlives the
// timeout.
func (inv invocation) run(t *testing.T) result {
	t.Helper()
	timeout := inv.timeout
	if timeout == 0 {
		timeout = runTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, inv.args...)
	cmd.Dir = inv.dir
	cmd.Stdin = strings.NewReader(inv.stdin)
	// A race-enabled binary otherwise sleeps a second before exiting 0.
	cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child process the script left behind must not keep Wait blocked on
	// the output pipes.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mphost %s: still running after %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(inv.args, " "), timeout, stdout.String(), stderr.String())
	}
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("mphost %s: %v\nstderr:\n%s", strings.Join(inv.args, " "), err, res.stderr)
	}
	return res
}

// mphost runs the binary with args in the working directory dir, with empty
// standard input.
func mphost(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return invocation{args: args, dir: dir}.run(t)
}

// writeFiles writes files, named by slash-separated paths relative to a new
// temporary folder, and returns the folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// expect fails the test unless the run ended with code and printed exactly
// stdout and stderr.
func (r result) expect(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
			r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

func TestRunPrints(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"hello.lua": `print("hello", 1 + 2)
io.write("no", " newline")
`,
	})
	mphost(t, dir, "run", "hello.lua").expect(t, 0, "hello\t3\nno newline", "")
}

func TestRunStdin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, script string
		args         []string
		code         int
		stdout       string
		stderrPrefix string
	}{
		{"prints", `print("from", arg[0], ...)`, []string{"p", "q"}, 0, "from\tstdin\tp\tq\n", ""},
		{"error names stdin", "print(1)\nerror('bad input')", nil, 1, "1\n", "stdin:2: bad input\nstack traceback:\n"},
		{"syntax error", "local x = = 1", nil, 1, "", "stdin:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := invocation{args: append([]string{"run", "-"}, tt.args...), stdin: tt.script}.run(t)
			if r.code != tt.code || r.stdout != tt.stdout || !strings.HasPrefix(r.stderr, tt.stderrPrefix) {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr starting %q",
					r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderrPrefix)
			}
			if tt.stderrPrefix == "" && r.stderr != "" {
				t.Errorf("stderr = %q, want none", r.stderr)
			}
		})
	}
}

// argsScript prints arg[0], then for each argument its index, arg[i] and the
// same argument taken from `...`.
const argsScript = `print("arg[0]", arg[0])
print("#arg", #arg, "#...", select("#", ...))
for i = 1, #arg do
  print(i, arg[i], (select(i, ...)))
end
`

func TestRunArgs(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"args.lua": argsScript})
	tests := []struct {
		name   string
		script string // as given to run
		args   []string
	}{
		{"none", "args.lua", nil},
		{"words", "args.lua", []string{"a", "b", "c"}},
		{"flags after FILE belong to the script", "args.lua", []string{"--x", "y"}},
		{"help flag after FILE belongs to the script", "args.lua", []string{"-h", "--help"}},
		{"double dash after FILE belongs to the script", "args.lua", []string{"--", "z"}},
		{"empty and spaced", "args.lua", []string{"", "two words"}},
		{"absolute path", filepath.Join(dir, "args.lua"), []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want strings.Builder
			fmt.Fprintf(&want, "arg[0]\t%s\n#arg\t%d\t#...\t%d\n", tt.script, len(tt.args), len(tt.args))
			for i, a := range tt.args {
				fmt.Fprintf(&want, "%d\t%s\t%s\n", i+1, a, a)
			}
			args := append([]string{"run", tt.script}, tt.args...)
			mphost(t, dir, args...).expect(t, 0, want.String(), "")
		})
	}
}

func TestRunUncaughtError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		// firstLine is the first line of stderr; traceback lists lines the
		// traceback after it must contain.
		firstLine string
		traceback []string
	}{
		{
			name: "error in a function",
			script: `print("before")
local function fail(msg)
  error(msg)
end
fail("boom")
print("after")
`,
			firstLine: "fail.lua:3: boom",
			traceback: []string{"\tfail.lua:3: in ", "\tfail.lua:5: in main chunk"},
		},
		{
			name: "runtime error",
			script: `print("before")
local t = nil
print(t.x)
`,
			firstLine: "fail.lua:3: attempt to index a non-table object(nil) with key 'x'",
			traceback: []string{"\tfail.lua:3: in main chunk"},
		},
		{
			name:      "error value with __tostring",
			script:    "print(\"before\")\nerror(setmetatable({}, {__tostring = function() return \"custom\" end}))\n",
			firstLine: "custom",
			traceback: []string{"\tfail.lua:2: in main chunk"},
		},
		{
			name:      "error value is a table",
			script:    "print(\"before\")\nerror({code = 1, msg = \"bad\"})\n",
			firstLine: `{code = 1, msg = "bad"}`,
			traceback: []string{"\tfail.lua:2: in main chunk"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"fail.lua": tt.script})
			r := mphost(t, dir, "run", "fail.lua")
			if r.code != 1 {
				t.Errorf("exit = %d, want 1", r.code)
			}
			if r.stdout != "before\n" {
				t.Errorf("stdout = %q, want %q", r.stdout, "before\n")
			}
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if first != tt.firstLine {
				t.Errorf("first line of stderr = %q, want %q", first, tt.firstLine)
			}
			if !strings.HasPrefix(rest, "stack traceback:\n") {
				t.Errorf("stderr after the message does not start with a traceback:\n%s", r.stderr)
			}
			for _, line := range tt.traceback {
				if !strings.Contains(rest, line) {
					t.Errorf("traceback lacks %q:\n%s", line, r.stderr)
				}
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code string // code runs between print("before") and print("after")
		status     int
	}{
		{"end of script", "", 0},
		{"os.exit()", "os.exit()", 0},
		{"os.exit(0)", "os.exit(0)", 0},
		{"os.exit(7)", "os.exit(7)", 7},
		{"os.exit(true)", "os.exit(true)", 0},
		{"os.exit(false)", "os.exit(false)", 1},
		{"os.exit in a function", "local function quit() os.exit(5) end quit()", 5},
		{"pcall(os.exit)", "print(pcall(os.exit, 3))", 3},
		{"os.exit inside pcall", "print(pcall(function() os.exit(4) end))", 4},
		{"os.exit inside xpcall", "print(xpcall(function() os.exit(6) end, debug.traceback))", 6},
		{"os.exit inside a coroutine", "coroutine.wrap(function() os.exit(9) end)()", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"exit.lua": "print(\"before\")\n" + tt.code + "\nprint(\"after\")\n"})
			want := "before\n"
			if tt.code == "" {
				want = "before\nafter\n"
			}
			mphost(t, dir, "run", "exit.lua").expect(t, tt.status, want, "")
		})
	}
}

func TestExitBadArgument(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"exit.lua": "print(\"before\")\nos.exit(\"soon\")\n"})
	r := mphost(t, dir, "run", "exit.lua")
	first, _, _ := strings.Cut(r.stderr, "\n")
	if r.code != 1 || r.stdout != "before\n" || !strings.HasPrefix(first, "exit.lua:2: bad argument #1 to exit") {
		t.Errorf("got exit %d, stdout %q, stderr:\n%s\nwant exit 1, stdout \"before\\n\", stderr starting \"exit.lua:2: bad argument #1 to exit\"",
			r.code, r.stdout, r.stderr)
	}
}

// TestExitKeepsOutput checks that all output written before os.exit reaches
// stdout, however much there is and whether or not it ends a line.
func TestExitKeepsOutput(t *testing.T) {
	t.Parallel()
	const lines = 20000
	dir := writeFiles(t, map[string]string{"many.lua": fmt.Sprintf(`for i = 1, %d do print(i) end
io.write("tail")
io.stdout:write(" end")
io.stderr:write("to stderr")
os.exit(3)
`, lines)})
	var want strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	want.WriteString("tail end")
	r := mphost(t, dir, "run", "many.lua")
	if r.code != 3 || r.stderr != "to stderr" {
		t.Errorf("got exit %d, stderr %q; want exit 3, stderr %q", r.code, r.stderr, "to stderr")
	}
	if r.stdout != want.String() {
		t.Errorf("stdout has %d bytes ending %q; want %d bytes ending %q",
			len(r.stdout), r.stdout[max(0, len(r.stdout)-20):], want.Len(), want.String()[want.Len()-20:])
	}
}

// syntaxErrorLine matches the one line check prints for a file that does
// not compile; its groups are the file and the line number.
var syntaxErrorLine = regexp.MustCompile(`^(\S+):(\d+): \S.*$`)

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		// good.lua would fail and exit if it were run.
		"good.lua":      "print(\"ran\")\nerror(\"ran\")\nos.exit(5)\n",
		"bad2.lua":      "local x = 1\nlocal y = = 2\nprint(x)\n",
		"bad4.lua":      "local t = {\n  1,\n  2,\n  3 4,\n}\n",
		"unclosed.lua":  "local x = 1\nif x then\n  print(x)\n",
		"goto.lua":      "print(1)\nbreak\n",
		"shebang.lua":   "#!/usr/bin/env mphost run\nprint(1)\nlocal = 3\n",
		"subdir/ok.lua": "return 1\n",
	})
	// wantLines are the files and line numbers of stderr's lines, in order.
	type fileLine struct {
		file string
		line int
	}
	tests := []struct {
		name      string
		files     []string
		code      int
		wantLines []fileLine
	}{
		{"good file", []string{"good.lua"}, 0, nil},
		{"several good files", []string{"good.lua", "subdir/ok.lua"}, 0, nil},
		{"syntax error", []string{"bad2.lua"}, 1, []fileLine{{"bad2.lua", 2}}},
		{"syntax error in a table", []string{"bad4.lua"}, 1, []fileLine{{"bad4.lua", 4}}},
		{"unclosed block", []string{"unclosed.lua"}, 1, []fileLine{{"unclosed.lua", 3}}},
		{"break outside a loop", []string{"goto.lua"}, 1, []fileLine{{"goto.lua", 2}}},
		{"after a shebang", []string{"shebang.lua"}, 1, []fileLine{{"shebang.lua", 3}}},
		{
			"several files, each reported",
			[]string{"bad4.lua", "good.lua", "bad2.lua", "subdir/ok.lua"},
			1, []fileLine{{"bad4.lua", 4}, {"bad2.lua", 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mphost(t, dir, append([]string{"check"}, tt.files...)...)
			if r.code != tt.code || r.stdout != "" {
				t.Errorf("got exit %d, stdout %q; want exit %d, no stdout", r.code, r.stdout, tt.code)
			}
			var got []fileLine
			for _, line := range strings.SplitAfter(r.stderr, "\n") {
				if line == "" {
					continue
				}
				m := syntaxErrorLine.FindStringSubmatch(strings.TrimSuffix(line, "\n"))
				if m == nil || !strings.HasSuffix(line, "\n") {
					t.Errorf("stderr line %q is not one FILE:LINE: message line", line)
					continue
				}
				n := 0
				fmt.Sscan(m[2], &n)
				got = append(got, fileLine{m[1], n})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantLines) {
				t.Errorf("stderr names %v, want %v; stderr:\n%s", got, tt.wantLines, r.stderr)
			}
		})
	}
}

func TestCheckMissingFileStillChecksTheOthers(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"bad.lua": "x = = 1\n"})
	r := mphost(t, dir, "check", "bad.lua", "missing.lua")
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != exitUsage || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "bad.lua:1: ") || !strings.Contains(lines[1], "missing.lua") {
		t.Errorf("got exit %d, stderr:\n%s\nwant exit %d, a syntax error for bad.lua:1, then a line naming missing.lua",
			r.code, r.stderr, exitUsage)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := mphost(t, "", "version")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("got exit %d, stderr %q; want 0 and none", r.code, r.stderr)
	}
	if want := "mphost " + version + " ("; !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout = %q, want one line starting %q", r.stdout, want)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	// Every command's line in the general usage.
	general := []string{"Usage:", "mphost FILE [ARGS...]", "mphost run ", "-e CODE", "mphost check ",
		"mphost version", "--version", "mphost help "}
	tests := []struct {
		args []string
		want []string // texts stdout must contain
	}{
		{[]string{"help"}, general},
		{[]string{"-h"}, general},
		{[]string{"--help"}, general},
		{[]string{"run", "-h"}, []string{"Usage: mphost run [flags] FILE [ARGS...]"}},
		{[]string{"run", "--help"}, []string{"Usage: mphost run [flags] FILE [ARGS...]", "mphost run [flags] -e CODE", "--execute"}},
		{[]string{"help", "run"}, []string{"Usage: mphost run [flags] FILE [ARGS...]"}},
		{[]string{"check", "-h"}, []string{"Usage: mphost check FILE..."}},
		{[]string{"check", "--help"}, []string{"Usage: mphost check FILE..."}},
		{[]string{"help", "check"}, []string{"Usage: mphost check FILE..."}},
		{[]string{"version", "--help"}, []string{"Usage: mphost version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := mphost(t, "", tt.args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("got exit %d, stderr %q; want 0 and none", r.code, r.stderr)
			}
			for _, s := range tt.want {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"ok.lua": "print(\"ran\")\n"})
	tests := []struct {
		args []string
		want string // what the one line on stderr must name
	}{
		{[]string{"frob"}, `"frob"`},
		{[]string{"--nope"}, `"--nope"`},
		{[]string{"run", "--nope", "ok.lua"}, "--nope"},
		{[]string{"check", "--nope", "ok.lua"}, "--nope"},
		{[]string{"help", "frob"}, `"frob"`},
		{[]string{"run", "missing.lua"}, "missing.lua"},
		{[]string{"run", "missing.lua", "ok.lua"}, "missing.lua"},
		{[]string{"check", "missing.lua"}, "missing.lua"},
		{[]string{"run", "."}, "cannot read ."},
		{[]string{"run"}, "mphost run"},
		{[]string{"check"}, "mphost check"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := mphost(t, dir, tt.args...)
			if r.code != exitUsage || r.stdout != "" {
				t.Errorf("got exit %d, stdout %q; want exit %d, no stdout", r.code, r.stdout, exitUsage)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want one line naming %s", r.stderr, tt.want)
			}
		})
	}
}

func TestNoArguments(t *testing.T) {
	t.Parallel()
	r := mphost(t, "")
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and the usage on stderr",
			r.code, r.stdout, r.stderr, exitUsage)
	}
}

func TestRequireBesideScript(t *testing.T) {
	t.Parallel()
	// The script runs from the folder above its own, so only the script's
	// folder on package.path can find its modules.
	dir := writeFiles(t, map[string]string{
		"app/main.lua": `local greet = require("greet")
local util = require("pkg.util")
print(greet.hello("world"), util.twice(21))
print(require("greet") == greet)
require("broken")
`,
		"app/greet.lua": `local M = {}
function M.hello(name) return "hello " .. name end
return M
`,
		"app/pkg/util.lua": "return { twice = function(n) return 2 * n end }\n",
		"app/broken.lua":   "local M = {}\n\nerror(\"broken module\")\nreturn M\n",
	})
	r := mphost(t, dir, "run", filepath.Join("app", "main.lua"))
	if r.code != 1 || r.stdout != "hello world\t42\ntrue\n" {
		t.Errorf("got exit %d, stdout %q; want exit 1, stdout %q", r.code, r.stdout, "hello world\t42\ntrue\n")
	}
	want := filepath.Join("app", "broken.lua") + ":3: broken module\n"
	if !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, filepath.Join("app", "main.lua")+":5:") {
		t.Errorf("stderr does not start %q and name main.lua:5:\n%s", want, r.stderr)
	}
}

func TestDeepRecursionAndUnpack(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"deep.lua": `local function depth(n)
  if n == 0 then return 0 end
  return 1 + depth(n - 1) -- not a tail call: every level stays on the stack
end
print(depth(10000))
local t = {}
for i = 1, 10000 do t[i] = i end
print(select("#", unpack(t)))
print(select(10000, unpack(t)))
local function count(...) return select("#", ...) end
print(count(unpack(t)))
`})
	mphost(t, dir, "run", "deep.lua").expect(t, 0, "10000\n10000\n10000\n10000\n", "")
}
