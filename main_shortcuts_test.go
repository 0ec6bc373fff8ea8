package main

import (
	"strings"
	"testing"
)

// These tests check the command lines that lua and python3 taught: a script
// as the first argument, -V/--version, and code given with -e.

func TestRunFileWithoutCommand(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"args.lua": argsScript,
		// A file named like a command: the command wins.
		"version": "print(\"the file ran\")\n",
		"sub/job": "print(\"no .lua needed\", ...)\n",
	})
	tests := []struct {
		name   string
		args   []string
		stdin  string
		stdout string
	}{
		{"script and arguments", []string{"args.lua", "a", "--x", "-h"},
			"", "arg[0]\targs.lua\n#arg\t3\t#...\t3\n1\ta\ta\n2\t--x\t--x\n3\t-h\t-h\n"},
		{"a path without .lua", []string{"sub/job", "1"}, "", "no .lua needed\t1\n"},
		{"- reads stdin", []string{"-", "p"}, "print(arg[0], ...)", "stdin\tp\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			invocation{args: tt.args, dir: dir, stdin: tt.stdin}.run(t).expect(t, 0, tt.stdout, "")
		})
	}
	t.Run("a command wins over a file", func(t *testing.T) {
		t.Parallel()
		r := mphost(t, dir, "version")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "mphost "+version+" (") {
			t.Errorf("got exit %d, stdout %q; want the version", r.code, r.stdout)
		}
	})
	t.Run("an uncaught error exits 1", func(t *testing.T) {
		t.Parallel()
		dir := writeFiles(t, map[string]string{"fail.lua": "error(\"boom\")\n"})
		r := mphost(t, dir, "fail.lua")
		if r.code != 1 || !strings.HasPrefix(r.stderr, "fail.lua:1: boom\nstack traceback:\n") {
			t.Errorf("got exit %d, stderr %q; want 1 and fail.lua:1: boom with a traceback", r.code, r.stderr)
		}
	})
}

func TestNeitherCommandNorFile(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"sub/ok.lua": "print(\"ran\")\n"})
	tests := []struct {
		args []string
		want string // what the one line on stderr must say
	}{
		{[]string{"missing.lua"}, `"missing.lua" is neither a command nor a script file`},
		{[]string{"sub"}, `"sub" is neither a command nor a script file`},
		{[]string{"-Z"}, `unknown flag "-Z"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := mphost(t, dir, tt.args...)
			if r.code != exitUsage || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and one line saying %s",
					r.code, r.stdout, r.stderr, exitUsage, tt.want)
			}
		})
	}
}

func TestVersionFlags(t *testing.T) {
	t.Parallel()
	want := mphost(t, "", "version")
	for _, flag := range []string{"-V", "--version"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			mphost(t, "", flag).expect(t, 0, want.stdout, "")
		})
	}
}

func TestRunExecute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		args         []string
		code         int
		stdout       string
		stderrPrefix string
	}{
		{"arguments", []string{"run", "-e", "print(arg[0], ...)", "a", "--x"}, 0, "(command line)\ta\t--x\n", ""},
		{"long flag among others", []string{"run", "--prefix", "--execute=print(1 + 1)"}, 0, "2\n", ""},
		{"every argument is the script's", []string{"run", "-e", "print(#arg)", "job.lua", "b"}, 0, "2\n", ""},
		{"error names the command line", []string{"run", "-e", "print(1)\nerror('bad')"}, 1, "1\n",
			"(command line):2: bad\nstack traceback:\n"},
		{"syntax error", []string{"run", "-e", "x = = 1"}, 1, "", "(command line):1: "},
		{"os.exit", []string{"run", "-e", "os.exit(3)"}, 3, "", ""},
		{"children and pools run its functions", []string{"run", "-e", `local mp = require("mp")
local p = mp.Process{target = function(x) print("child", x) end, args = {7}}
p:start() p:join()
local pool = mp.Pool(2)
print(table.concat(pool:map(function(x) return x * x end, {1, 2, 3}), " "))
pool:close() pool:join()`}, 0, "child\t7\n1 4 9\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mphost(t, t.TempDir(), tt.args...)
			if r.code != tt.code || r.stdout != tt.stdout || !strings.HasPrefix(r.stderr, tt.stderrPrefix) ||
				(tt.stderrPrefix == "" && r.stderr != "") {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr starting %q",
					r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderrPrefix)
			}
		})
	}
	t.Run("missing code", func(t *testing.T) {
		t.Parallel()
		r := mphost(t, "", "run", "-e")
		if r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "-e") {
			t.Errorf("got exit %d, stderr %q; want exit %d and one line naming -e", r.code, r.stderr, exitUsage)
		}
	})
}
