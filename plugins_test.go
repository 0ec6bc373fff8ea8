package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// examplePlugins is a folder holding the example plugin
// (mphost-plugin-hello, from plugins/examples/hello), built once per test
// binary beside the mphost binary.
func examplePlugins(t testing.TB) string {
	t.Helper()
	dir, err := buildPlugins()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var buildPlugins = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(filepath.Dir(binary), "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-o", filepath.Join(dir, "mphost-plugin-hello")}
	if raceEnabled() {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, "./plugins/examples/hello")...).CombinedOutput(); err != nil {
		return "", &buildError{err, out}
	}
	return dir, nil
})

// buildError is a failed go build, with what it printed.
type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "building the example plugin: " + e.err.Error() + "\n" + string(e.out)
}

// pluginRunScript uses the hello plugin from the main script and from a
// child, prints the plugin's pid, and waits on stdin.
const pluginRunScript = `
local mp = require("mp")
local hello = require("hello")
local q = mp.Queue()
local p = mp.Process{target = function(q) q:put(hello.pid()) end, args = {q}}
p:start()
assert(q:get(true, 30) == hello.pid())
p:join()
print("pid " .. hello.pid())
io.read()
`

// TestKillHostEndsPlugins kills the host with SIGKILL while its run has a
// plugin process: the plugin ends, and its sockets go with it.
func TestKillHostEndsPlugins(t *testing.T) {
	t.Parallel()
	becomeSubreaper(t)
	tmp := shortTempDir(t)
	dir := writeFiles(t, map[string]string{"plugin.lua": pluginRunScript})
	s := startSession(t, dir, []string{"TMPDIR=" + tmp}, false, "run", "--plugin-dir", examplePlugins(t), "plugin.lua")
	pid, err := strconv.Atoi(strings.TrimPrefix(s.nextLine(t, 60*time.Second, "pid "), "pid "))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 10*time.Second)
	running := func() bool {
		state, _, ok := procStat(pid)
		if ok && state == 'Z' {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil) // the test is its subreaper
			return false
		}
		return ok
	}
	if !poll(5*time.Second, func() bool { return !running() }) {
		t.Fatalf("5s after kill -9 of the host, its plugin (pid %d) still runs", pid)
	}
	// The plugin's own socket folder holds its call socket. (Children
	// killed with the host leave theirs: the next host removes them.)
	var left []string
	if !poll(5*time.Second, func() bool {
		left, _ = filepath.Glob(filepath.Join(tmp, "*", "*", "calls*"))
		return len(left) == 0
	}) {
		t.Errorf("the plugin's sockets are still there after it died: %v", left)
	}
}

// TestPluginsCommand lists the example plugin with its version, and says
// when it finds none. (A plugin that does not fit: pluginhost's tests.)
func TestPluginsCommand(t *testing.T) {
	t.Setenv("MPHOST_PLUGIN_PATH", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	r := mphost(t, "", "plugins", "--plugin-dir", examplePlugins(t))
	hello := filepath.Join(examplePlugins(t), "mphost-plugin-hello")
	want := "NAME   VERSION  PATH" + strings.Repeat(" ", len(hello)-4) + "  FITS\nhello  1.0.0    " + hello + "  ok\n"
	r.expect(t, 0, want, "")
	r = mphost(t, "", "plugins", "--plugin-dir", t.TempDir())
	r.expect(t, 0, "", "mphost plugins: no plugins found\n")
}
