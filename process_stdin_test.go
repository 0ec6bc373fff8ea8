package main

import "testing"

// stdinScript has two children, one after the other (the second runs in
// the OS process of the first), read their stdin; then the main script
// reads its own.
const stdinScript = `local mp = require("mp")
for i = 1, 2 do
  local p = mp.Process{target = function()
    print("child", i, io.read(), io.stdin:read("*a"), io.read("*n"))
  end}
  p:start()
  p:join()
end
print("main", io.read(), io.read())
`

// TestChildStdinIsEmpty: a child's stdin is /dev/null, as in Python, so it
// never takes the main script's input; the main script reads all of it.
func TestChildStdinIsEmpty(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"stdin.lua": stdinScript})
	r := invocation{args: []string{"run", "stdin.lua"}, dir: dir, stdin: "line1\nline2\n"}.run(t)
	want := "child\t1\tnil\t\tnil\nchild\t2\tnil\t\tnil\nmain\tline1\tline2\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0, stdout:\n%s", r.code, r.stdout, r.stderr, want)
	}
}
