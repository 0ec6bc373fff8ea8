package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// README's cluster section takes a new user from nothing to a map on two workers in three
// commands: this test runs them as written (serve on a free port rather than 4222), the worker
// twice with the URL serve printed, which names this machine as others reach it, then a job
// whose map runs on both.
func TestReadmeCluster(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## The cluster\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var commands [][]string
	for _, m := range regexp.MustCompile("`mphost ([^`]+)`").FindAllStringSubmatch(section, -1) {
		commands = append(commands, strings.Fields(m[1]))
	}
	want := []string{"cluster serve --listen 0.0.0.0:4222", "cluster worker URL", "run --cluster URL job.lua"}
	if len(commands) != len(want) {
		t.Fatalf("README's cluster section gives %d commands %q, want %q", len(commands), commands, want)
	}
	for i, c := range commands {
		if strings.Join(c, " ") != want[i] {
			t.Fatalf("README's cluster section: command %d is mphost %s, want mphost %s (this test runs them)", i+1, strings.Join(c, " "), want[i])
		}
	}

	serve := append(commands[0][:len(commands[0])-1:len(commands[0])-1], "0.0.0.0:0", "--store", t.TempDir())
	srv := startSession(t, t.TempDir(), nil, false, serve...)
	url := srv.nextLine(t, clusterBound, "nats://")
	if strings.Contains(url, "@0.0.0.0:") {
		t.Fatalf("serve printed %s: other machines cannot reach it there", url)
	}
	with := func(args []string) []string {
		out := slices.Clone(args)
		for i, a := range out {
			if a == "URL" {
				out[i] = url
			}
		}
		return out
	}
	c := &testCluster{url: url}
	for range 2 {
		tmp := shortTempDir(t)
		w := startSession(t, t.TempDir(), []string{"TMPDIR=" + tmp}, false, with(commands[1])...)
		stderrLine(t, w, "taking tasks from nats://")
		c.workers, c.tmp = append(c.workers, w), append(c.tmp, tmp)
	}
	dir := writeFiles(t, map[string]string{"job.lua": `
local mp = require("mp")
local pool = mp.Pool(4)
print(table.concat(pool:map(function(x)
  mp.sleep(0.2) -- both workers take some
  return x * x
end, {1, 2, 3, 4, 5, 6, 7, 8}), " "))
`})
	invocation{args: with(commands[2]), dir: dir, timeout: 2 * clusterBound}.run(t).expect(t, 0, "1 4 9 16 25 36 49 64\n", "")
	for i, w := range c.workers {
		if !strings.Contains(w.stderr(), " taken (delivery 1)") {
			t.Errorf("worker %d took no task:\n%s", i+1, w.stderr())
		}
	}
	c.stop(t)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(t, clusterBound); code != 0 {
		t.Errorf("cluster serve: exit %d after SIGTERM\nstderr:\n%s", code, srv.stderr())
	}
}
