package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A pipe holds two sockets in the host until both its ends are closed: a
// script that keeps too many open gets a clear error at mp.Pipe, and one
// that closes them can make as many as it likes, within the same limit.
func TestPipesAndTheFileLimit(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"keep.lua": `local mp = require("mp")
local keep = {}
for i = 1, 1000 do
  local a, b = mp.Pipe()
  keep[i] = {a, b}
end`,
		"close.lua": `local mp = require("mp")
for i = 1, 1000 do
  local a, b = mp.Pipe()
  a:send(i)
  assert(b:recv() == i)
  a:close()
  b:close()
end
print("1000 pipes made and closed")`,
	})
	run := func(name string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -n 256 && exec "$0" run "$1"`, binary, name)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("keep.lua")
	if err == nil || !strings.Contains(out, "keep.lua:4: mp.Pipe: making a pipe: too many open files") ||
		!strings.Contains(out, "close the pipes you no longer use") {
		t.Errorf("keeping 1000 pipes open under a limit of 256 files: %v\n%s", err, out)
	}
	if out, err := run("close.lua"); err != nil || out != "1000 pipes made and closed\n" {
		t.Errorf("making and closing 1000 pipes under a limit of 256 files: %v\n%s", err, out)
	}
}

// pipeFlood is a script in which a child sends arg[1] MB in messages of 2 MB
// to the main script, which runs in the host and is a slow reader: it reads
// nothing until the child has sent them all, or for 3 seconds when the
// sends wait (what is tested), then reads them all. It prints the host's peak
// memory (VmHWM) over its memory at the start.
const pipeFlood = `local mp = require("mp")
local function kb(field)
  local f = io.open("/proc/self/status")
  local n = f:read("*a"):match(field .. ":%s*(%d+) kB")
  f:close()
  return tonumber(n)
end
local n = tonumber(arg[1]) / 2
local r, w = mp.Pipe(false)
local start = kb("VmRSS")
local sent = mp.Event()
local p = mp.Process{target = function(w, sent)
  local msg = string.rep("x", 2 * 1024 * 1024)
  for i = 1, n do w:send(msg) end
  sent:set()
end, args = {w, sent}}
p:start(); w:close()
sent:wait(3)
local got = 0
while true do
  local m = r:recv()
  if m == nil then break end
  got = got + #m
end
p:join()
print(string.format("received %d MB; the host grew by %d MB at most", got / 2^20, (kb("VmHWM") - start) / 1024))
`

// A child that floods a pipe while its reader waits leaves the host's memory
// flat: past the pipe's capacity (64 MB), its sends wait for the reader.
// (Without the bound the host holds all 512 MB before the reader reads.)
// With MPHOST_BIG_TESTS=1 the flood is 4 GB.
func TestPipeFloodKeepsTheHostSmall(t *testing.T) {
	t.Parallel()
	if raceEnabled() {
		t.Skip("the race detector's shadow memory grows with what the host decodes: RSS says nothing under it")
	}
	dir := writeFiles(t, map[string]string{"flood.lua": pipeFlood})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mb := 512
	if bigTests() {
		mb = 4096
	}
	cmd := exec.CommandContext(ctx, binary, "run", "flood.lua", strconv.Itoa(mb))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var got, grew int
	if _, serr := fmt.Sscanf(string(out), "received %d MB; the host grew by %d MB at most", &got, &grew); err != nil || serr != nil {
		t.Fatalf("flood.lua: %v, %v\n%s", err, serr, out)
	}
	if got != mb || grew > 300 {
		t.Errorf("received %d MB (want %d); the host grew by %d MB, want at most 300", got, mb, grew)
	}
	t.Logf("the host grew by %d MB", grew)
}

// A send past the pipe's capacity waits for the reader, and the wait ends
// with the run (--timeout): the script prints the sends that returned.
func TestPipeSendWaitsPastCapacity(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"full.lua": `local mp = require("mp")
local r, w = mp.Pipe{duplex = false, capacity = 100000}
for i = 1, 10 do
  w:send(string.rep("x", 40000))
  print("sent", i)
end
`})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--timeout", "2s", "full.lua")
	cmd.Dir = dir
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 124 || string(out) != "sent\t1\nsent\t2\n" {
		t.Errorf("sends of 40 KB into a pipe of 100 000 bytes nobody reads: %v, stdout:\n%s", err, out)
	}
}
