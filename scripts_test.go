package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "write scripts/*.out from the scripts' output instead of comparing with it")

// scriptTimeout bounds the run of one example script.
const scriptTimeout = 60 * time.Second

// scriptHeader is what the comment lines at the top of an example script ask
// of its run:
//
//	-- args: a b c      arguments after the script (split at spaces)
//	-- exit: N          the exit status (0 when not given)
//	-- unordered        stdout is compared as a sorted multiset of lines
//	-- stderr: TEXT     stderr contains TEXT (may be repeated)
//
// Without a stderr line, stderr must be empty. Other comments in the header
// are free text.
type scriptHeader struct {
	args      []string
	exit      int
	unordered bool
	stderr    []string
}

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
		case "unordered":
			if value != "" {
				return h, fmt.Errorf("line %d: unordered takes no value", n)
			}
			h.unordered = true
		case "stderr":
			if value == "" {
				return h, fmt.Errorf("line %d: stderr: needs a text", n)
			}
			h.stderr = append(h.stderr, value)
		}
	}
	return h, sc.Err()
}

// TestScripts runs every scripts/NAME.lua with the built binary and compares
// its stdout with scripts/NAME.out. With -update it writes the .out files
// instead.
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

// runScript runs scripts/NAME.lua as its header says and checks, or with
// -update writes, scripts/NAME.out.
func runScript(t *testing.T, name string) {
	luaPath := "scripts/" + name + ".lua"
	outPath := filepath.Join("scripts", name+".out")
	src, err := os.ReadFile(luaPath)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(string(src))
	if err != nil {
		t.Fatalf("%s header: %v", luaPath, err)
	}
	r := invocation{args: append([]string{"run", luaPath}, h.args...), timeout: scriptTimeout}.run(t)

	if r.code != h.exit {
		t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, h.exit, r.stderr)
	}
	for _, s := range h.stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if len(h.stderr) == 0 && r.stderr != "" {
		t.Errorf("unexpected stderr (add a \"-- stderr: TEXT\" header if it is meant):\n%s", r.stderr)
	}

	if *update {
		if err := os.WriteFile(outPath, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
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
	if h.unordered {
		if diff := cmp.Diff(sortedLines(string(want)), sortedLines(r.stdout)); diff != "" {
			t.Errorf("stdout lines differ from %s, in any order (-want +got):\n%s", outPath, diff)
		}
	} else if diff := cmp.Diff(string(want), r.stdout); diff != "" {
		t.Errorf("stdout differs from %s (-want +got):\n%s", outPath, diff)
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
			"#!/usr/bin/env mphost run\n-- What it shows: free text.\n-- args: a  b c\n\n-- exit: 3\n-- unordered\n-- stderr: x.lua:1: oops\n-- stderr: traceback\nprint(1)\n-- exit: 4\n",
			scriptHeader{args: []string{"a", "b", "c"}, exit: 3, unordered: true, stderr: []string{"x.lua:1: oops", "traceback"}},
			false,
		},
		{"block comment ends it", "--[[\n-- exit: 3\n]]\n", scriptHeader{}, false},
		{"exit not a number", "-- exit: one\n", scriptHeader{}, true},
		{"empty stderr", "-- stderr:\n", scriptHeader{}, true},
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
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(scriptHeader{})); diff != "" {
				t.Errorf("parseHeader (-want +got):\n%s", diff)
			}
		})
	}
}
