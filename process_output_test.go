package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The tests of this file check what children write: all of it reaches the
// host's stdout even when the child is killed, and --prefix tags it. See
// process_api_test.go for what all the process_*_test.go files share.

func TestOutputBeforeKillIsKept(t *testing.T) {
	t.Parallel()
	const lines = 1000
	dir := writeFiles(t, map[string]string{"flood.lua": `local mp = require("mp")
local function wait_for(path)
  for _ = 1, 2000 do
    local f = io.open(path)
    if f then f:close() return true end
    mp.sleep(0.01)
  end
  return false
end
-- prints, says so with a file, then spins until killed
local function flood(n, marker)
  for i = 1, n do print(string.format("line %04d %s", i, string.rep("x", 60))) end
  io.open(marker, "w"):close()
  while true do end
end
local function partial(marker)
  io.write("partial line")
  io.open(marker, "w"):close()
  while true do end
end
local p = mp.Process{target = flood, args = {tonumber(arg[1]), "flood.done"}}
p:start()
local seen = wait_for("flood.done")
p:kill()
local joined = p:join(10)
print("flood", seen, joined, p.exitcode)
local q = mp.Process{target = partial, args = {"partial.done"}}
q:start()
seen = wait_for("partial.done")
q:kill()
joined = q:join(10)
print("partial", seen, joined, q.exitcode)
`})
	var want strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&want, "line %04d %s\n", i, strings.Repeat("x", 60))
	}
	want.WriteString("flood\ttrue\ttrue\t-9\npartial line\npartial\ttrue\ttrue\t-9\n")
	r := mphost(t, dir, "run", "flood.lua", strconv.Itoa(lines))
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and none", r.code, r.stderr)
	}
	if diff := lineDiff(want.String(), r.stdout); diff != "" {
		if len(diff) > 2000 {
			diff = diff[:2000] + "..."
		}
		t.Errorf("stdout differs (-want +got):\n%s", diff)
	}
}

func TestPrefixFlag(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"prefix.lua": `local mp = require("mp")
print("main before")
local p = mp.Process{target = function()
  print("child line")
  io.stderr:write("child error line\n")
  io.write("child partial")
end}
p:start()
p:join()
local q = mp.Process{target = function() print("named line") end, name = "w1"}
q:start()
q:join()
print("main after " .. p.pid .. " " .. q.pid)
`})
	for _, prefix := range []bool{true, false} {
		t.Run(fmt.Sprintf("prefix=%v", prefix), func(t *testing.T) {
			t.Parallel()
			args := []string{"run", "prefix.lua"}
			if prefix {
				args = []string{"run", "--prefix", "prefix.lua"}
			}
			r := mphost(t, dir, args...)
			var p, q string
			if m := regexp.MustCompile(`(?m)^main after (\d+) (\d+)$`).FindStringSubmatch(r.stdout); m != nil {
				p, q = m[1], m[2]
			} else {
				t.Fatalf("stdout lacks the pids line:\n%s", r.stdout)
			}
			pp, qp := "", ""
			if prefix {
				pp, qp = "[Process-1 "+p+"] ", "[w1 "+q+"] "
			}
			r.expect(t, 0,
				"main before\n"+pp+"child line\n"+pp+"child partial\n"+qp+"named line\nmain after "+p+" "+q+"\n",
				pp+"child error line\n")
		})
	}
}
