package pluginhost

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestHostKilled kills a host with SIGKILL and checks that its plugin
// process ends and removes its sockets.
func TestHostKilled(t *testing.T) {
	socketDir := t.TempDir() + "/run"
	if err := os.Mkdir(socketDir, 0o700); err != nil {
		t.Fatal(err)
	}
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), hostEnv+"="+socketDir, "MPHOST_TEST_PLUGIN_DIR="+pluginDir)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		host.Process.Kill()
		host.Wait()
		t.Fatalf("host: %q %v", line, err)
	}
	host.Process.Kill()
	host.Wait()
	waitFor(t, "the plugin to end", func() bool { return !alive(pid) })
	waitFor(t, "the socket folder to go", func() bool {
		_, err := os.Stat(socketDir)
		return errors.Is(err, os.ErrNotExist)
	})
}

// alive reports whether pid is a process that has not ended (a zombie has).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	state := procState(pid)
	return state != "" && state != "Z"
}

// procState is the state letter of pid in /proc ("R", "S", "T", "Z"...),
// "" when there is no such process.
func procState(pid int) string {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	state, _, _ := strings.Cut(rest, " ")
	return state
}
