package main

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pipeCrossing sends the first end of arg[1] new pipes, one by one, to a child that takes them
// from a queue and drops them; the main script drops the other ends. Under a file limit below
// two per pipe, mp.Pipe fails: the script catches the error, prints it and how far it got, and
// tells the child to stop.
const pipeCrossing = `local mp = require("mp")
local n = tonumber(arg[1])
local q, done = mp.Queue(), mp.Queue()
local p = mp.Process{target = function(q, done)
  local got = 0
  while q:get() do got = got + 1 end
  done:put(got)
end, args = {q, done}}
p:start()
local sent = 0
local ok, err = pcall(function()
  for i = 1, n do
    local a, b = mp.Pipe()
    q:put(a)
    sent = i
  end
end)
if not ok then print(err) end
q:put(false)
print("sent " .. sent .. ", the child got " .. done:get())
p:join()
`

// Pipes that cross to a child while the host's file limit is low: the run ends, with the
// error that says why when files run out, and the host holds one file for each pipe whose other
// end the main script dropped (the first 300 pipes fit in 400 files).
func TestPipesCrossingUnderTheFileLimit(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"cross.lua": pipeCrossing})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -n 400 && exec "$0" run cross.lua 1000`, binary)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the run did not end within 2 minutes:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "cross.lua:13: mp.Pipe: making a pipe: too many open files") ||
		!strings.Contains(string(out), "close the pipes you no longer use") {
		t.Fatalf("1000 pipes crossing under a limit of 400 files: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`sent (\d+), the child got (\d+)`).FindStringSubmatch(string(out))
	if m == nil || m[1] != m[2] {
		t.Fatalf("want every pipe sent to reach the child:\n%s", out)
	}
	if sent, _ := strconv.Atoi(m[1]); sent < 300 {
		t.Errorf("only %d pipes crossed under a limit of 400 files, want 300 or more (one file each)", sent)
	}
}
