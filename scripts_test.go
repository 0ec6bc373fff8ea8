package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "write scripts/*.out from the scripts' output instead of comparing with it")

// scriptTimeout bounds one run of an example script unless its header says
// otherwise.
const scriptTimeout = 60 * time.Second

// inChildHarness runs a script as the target of a child process, for the
// "-- in a child" header.
const inChildHarness = "scripts/harness/in_child.lua"

// scriptHeader is what the comment lines at the top of an example script ask
// of its run:
//
//	-- args: a b c      arguments after the script (split at spaces)
//	-- exit: N          the exit status (0 when not given)
//	-- unordered        stdout is compared as a sorted multiset of lines
//	-- stderr: TEXT     stderr contains TEXT (may be repeated); \n, \t and
//	                    \\ in TEXT stand for a newline, a tab, a backslash
//	-- in a child       run the script a second time as the target of a
//	                    child process (scripts/harness/in_child.lua), which
//	                    must print the same stdout and exit the same way
//	-- timeout: N       bound each run at N seconds instead of 60
//	-- plugins          run with --plugin-dir of the example plugins
//
// Without a stderr line or a NAME.err file, stderr must be empty. With
// scripts/NAME.err, the first run's stderr must equal it once every "pid N"
// in it reads "pid PID" (-update rewrites a NAME.err that exists). Other
// comments in the header are free text.
type scriptHeader struct {
	args      []string
	exit      int
	unordered bool
	stderr    []string
	inChild   bool
	timeout   time.Duration
	plugins   bool // run with --plugin-dir of the example plugins (plugins_test.go)
}

// stderrEscapes turns the escapes of a "-- stderr:" text into what they
// stand for.
var stderrEscapes = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t")

// parseHeader reads the header of a script: the lines starting with "--"
// before its first line of code. Blank lines and a first "#!" line do not end
// the header.
func parseHeader(src string) (scriptHeader, error) {
	var h scriptHeader
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || (n == 1 && strings.HasPrefix(line, "#!")) {
			continue
		}
		comment, ok := strings.CutPrefix(line, "--")
		if !ok || strings.HasPrefix(comment, "[[") || strings.HasPrefix(comment, "[=") {
			break // code, or a block comment, ends the header
		}
		comment = strings.TrimSpace(comment)
		key, value, _ := strings.Cut(comment, ":")
		value = strings.TrimSpace(value)
		switch key {
		case "args":
			h.args = strings.Fields(value)
		case "exit":
			code, err := strconv.Atoi(value)
			if err != nil {
				return h, fmt.Errorf("line %d: exit: %q is not a number", n, value)
			}
			h.exit = code
		case "unordered", "in a child", "plugins":
			if value != "" {
				return h, fmt.Errorf("line %d: %s takes no value", n, key)
			}
			h.unordered = h.unordered || key == "unordered"
			h.inChild = h.inChild || key == "in a child"
			h.plugins = h.plugins || key == "plugins"
		case "stderr":
			if value == "" {
				return h, fmt.Errorf("line %d: stderr: needs a text", n)
			}
			h.stderr = append(h.stderr, stderrEscapes.Replace(value))
		case "timeout":
			secs, err := strconv.Atoi(value)
			if err != nil || secs <= 0 {
				return h, fmt.Errorf("line %d: timeout: %q is not a number of seconds", n, value)
			}
			h.timeout = time.Duration(secs) * time.Second
		}
	}
	return h, sc.Err()
}

// TestScripts runs every scripts/NAME.lua with the built binary and compares
// its stdout with scripts/NAME.out (and its stderr with scripts/NAME.err
// where there is one), as its header says (see scriptHeader). With -update
// it writes the .out files, and the .err files that exist, instead.
func TestScripts(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("scripts", "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no scripts/*.lua found")
	}
	slices.Sort(paths)
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".lua")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runScript(t, name)
		})
	}
}

// pidNumber matches a pid in a script's stderr, which changes from run to
// run.
var pidNumber = regexp.MustCompile(`\bpid \d+`)

// runScript runs scripts/NAME.lua as its header says and checks, or with
// -update writes, scripts/NAME.out (and NAME.err).
func runScript(t *testing.T, name string) {
	luaPath := "scripts/" + name + ".lua"
	outPath := filepath.Join("scripts", name+".out")
	errPath := filepath.Join("scripts", name+".err")
	src, err := os.ReadFile(luaPath)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(string(src))
	if err != nil {
		t.Fatalf("%s header: %v", luaPath, err)
	}
	timeout := cmp.Or(h.timeout, scriptTimeout)
	run := []string{"run"}
	if h.plugins {
		run = append(run, "--plugin-dir", examplePlugins(t))
	}
	r := invocation{args: slices.Concat(run, []string{luaPath}, h.args), timeout: timeout}.run(t)
	wantErr, err := os.ReadFile(errPath)
	hasErrFile := err == nil
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	gotErr := pidNumber.ReplaceAllString(r.stderr, "pid PID")
	checkRun(t, "", h, r, hasErrFile)
	if hasErrFile && !*update {
		if diff := gocmp.Diff(string(wantErr), gotErr); diff != "" {
			t.Errorf("stderr differs from %s (-want +got):\n%s", errPath, diff)
		}
	}

	if *update {
		if err := os.WriteFile(outPath, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		if hasErrFile {
			if err := os.WriteFile(errPath, []byte(gotErr), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want, err := os.ReadFile(outPath)
	if os.IsNotExist(err) {
		t.Fatalf("%s is missing; create it with: go test -run 'TestScripts/^%s$' -update\n(then read it to check it is right)", outPath, name)
	}
	if err != nil {
		t.Fatal(err)
	}
	compareStdout(t, "", h, outPath, string(want), r.stdout)
	if !h.inChild {
		return
	}
	args := slices.Concat(run, []string{inChildHarness, luaPath}, h.args)
	r = invocation{args: args, timeout: timeout}.run(t)
	checkRun(t, "in a child: ", h, r, hasErrFile)
	compareStdout(t, "in a child: ", h, outPath, string(want), r.stdout)
}

// checkRun checks a run's exit status and stderr against the header; with
// an .err file, stderr may hold more than the header's texts.
func checkRun(t *testing.T, where string, h scriptHeader, r result, hasErrFile bool) {
	t.Helper()
	if r.code != h.exit {
		t.Errorf("%sexit status %d, want %d; stderr:\n%s", where, r.code, h.exit, r.stderr)
	}
	for _, s := range h.stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("%sstderr lacks %q:\n%s", where, s, r.stderr)
		}
	}
	if len(h.stderr) == 0 && !hasErrFile && r.stderr != "" {
		t.Errorf("%sunexpected stderr (add a \"-- stderr: TEXT\" header if it is meant):\n%s", where, r.stderr)
	}
}

// compareStdout compares a run's stdout with the .out file's content, as
// lines in any order when the header says so.
func compareStdout(t *testing.T, where string, h scriptHeader, outPath, want, got string) {
	t.Helper()
	if h.unordered {
		if diff := gocmp.Diff(sortedLines(want), sortedLines(got)); diff != "" {
			t.Errorf("%sstdout lines differ from %s, in any order (-want +got):\n%s", where, outPath, diff)
		}
	} else if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("%sstdout differs from %s (-want +got):\n%s", where, outPath, diff)
	}
}

// sortedLines splits output into lines, each with its newline, and sorts
// them.
func sortedLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	slices.Sort(lines)
	return lines
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, src string
		want      scriptHeader
		wantErr   bool
	}{
		{"no header", "print(1)\n-- exit: 3\n", scriptHeader{}, false},
		{
			"every key",
			"#!/usr/bin/env mphost run\n-- What it shows: free text.\n-- args: a  b c\n\n-- exit: 3\n-- unordered\n-- in a child\n-- timeout: 120\n" +
				"-- stderr: x.lua:1: oops\n-- stderr: oops\\nstack traceback:\\n\\t\\\\\nprint(1)\n-- exit: 4\n",
			scriptHeader{args: []string{"a", "b", "c"}, exit: 3, unordered: true, inChild: true, timeout: 120 * time.Second,
				stderr: []string{"x.lua:1: oops", "oops\nstack traceback:\n\t\\"}},
			false,
		},
		{"block comment ends it", "--[[\n-- exit: 3\n]]\n", scriptHeader{}, false},
		{"exit not a number", "-- exit: one\n", scriptHeader{}, true},
		{"empty stderr", "-- stderr:\n", scriptHeader{}, true},
		{"in a child with a value", "-- in a child: yes\n", scriptHeader{}, true},
		{"timeout not a number", "-- timeout: soon\n", scriptHeader{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHeader(tt.src)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseHeader error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := gocmp.Diff(tt.want, got, gocmp.AllowUnexported(scriptHeader{})); diff != "" {
				t.Errorf("parseHeader (-want +got):\n%s", diff)
			}
		})
	}
}
