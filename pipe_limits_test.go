package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
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
// while the main script, which runs in the host, reads them slowly; it
// prints the host's peak memory (VmHWM) over its memory at the start.
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
local p = mp.Process{target = function(w)
  local msg = string.rep("x", 2 * 1024 * 1024)
  for i = 1, n do w:send(msg) end
end, args = {w}}
p:start(); w:close()
local got = 0
while true do
  local m = r:recv()
  if m == nil then break end
  got = got + #m
  mp.sleep(0.005)
end
p:join()
print(string.format("received %d MB; the host grew by %d MB at most", got / 2^20, (kb("VmHWM") - start) / 1024))
`

// A child that floods a pipe while its reader reads slowly leaves the host's
// memory flat: past the pipe's capacity (64 MB), its sends wait for the
// reader. (Without the bound the host held what the reader had not read: 4
// GB.)
func TestPipeFloodKeepsTheHostSmall(t *testing.T) {
	t.Parallel()
	if raceEnabled() {
		t.Skip("4 GB through a pipe: too slow under the race detector")
	}
	dir := writeFiles(t, map[string]string{"flood.lua": pipeFlood})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "flood.lua", "4096")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var got, grew int
	if _, serr := fmt.Sscanf(string(out), "received %d MB; the host grew by %d MB at most", &got, &grew); err != nil || serr != nil {
		t.Fatalf("flood.lua: %v, %v\n%s", err, serr, out)
	}
	if got != 4096 || grew > 400 {
		t.Errorf("received %d MB (want 4096); the host grew by %d MB, want at most 400", got, grew)
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
