package main

import (
	"fmt"
	"regexp"
	"testing"
)

// The test of this file checks that --prefix tags what children write,
// with their pids (scripts/process_output_kill.lua checks that nothing a
// killed child printed is lost). See
// process_api_test.go for what all the process_*_test.go files share.

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
