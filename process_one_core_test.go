package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oneCoreChild starts a child that prints its pid and waits until the main
// script reads a line from stdin.
const oneCoreChild = `local mp = require("mp")
local q = mp.Queue()
local p = mp.Process{target = function(q)
  print("child " .. mp.current_process().pid)
  io.stdout:flush()
  q:get(true, 60)
end, args = {q}}
p:start()
io.read()
q:put(true)
p:join()
`

// A child starts with GOMAXPROCS=1 in its environment, so that the Go
// runtime never makes a P per core (an idle child's USS: see
// BenchmarkChildMemory); the script in it does not see the variable
// (scripts/process_one_core.lua).
func TestChildStartsWithOneCore(t *testing.T) {
	t.Parallel()
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set here, and children inherit it")
	}
	dir := writeFiles(t, map[string]string{"one.lua": oneCoreChild})
	s := startSession(t, dir, nil, false, "run", "one.lua")
	line := s.nextLine(t, 30*time.Second, "child ")
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "child "))
	if err != nil {
		t.Fatalf("bad line %q", line)
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	s.answer(t)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(append([]byte{0}, environ...), []byte("\x00GOMAXPROCS=1\x00")) {
		t.Errorf("the child's start environment has no GOMAXPROCS=1:\n%s", bytes.ReplaceAll(environ, []byte{0}, []byte{'\n'}))
	}
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit = %d\nstderr:\n%s", code, s.stderr())
	}
}
