package main

import (
	"context"
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
