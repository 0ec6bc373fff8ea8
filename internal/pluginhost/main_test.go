package pluginhost

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// pluginDir holds the test plugins, built once per test binary:
// mphost-plugin-hello (plugins/examples/hello), mphost-plugin-old (a
// plugin of another protocol version) and mphost-plugin-probe
// (testdata/probe: a call that runs until cancelled, a Go panic, stderr).
var pluginDir string

// hostEnv makes the test binary a host for TestHostKilled: it starts the
// plugins of the folder named, prints the hello plugin's pid, and waits to
// be killed.
const hostEnv = "MPHOST_PLUGINHOST_TEST_HOST"

func TestMain(m *testing.M) {
	if dir := os.Getenv(hostEnv); dir != "" {
		runHost(dir)
		return
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	_, here, _, _ := runtime.Caller(0)
	for pkg, name := range map[string]string{
		"../../plugins/examples/hello": "hello",
		"./testdata/oldproto":          "old",
		"./testdata/probe":             "probe",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, Prefix+name), pkg)
		cmd.Dir = filepath.Dir(here)
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	pluginDir = dir
	// Keep the user's own plugins out of the tests.
	os.Setenv("MPHOST_PLUGIN_PATH", "")
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	return m.Run(), nil
}

// runHost is the host of TestHostKilled.
func runHost(socketDir string) {
	s := New(Options{Dirs: []string{os.Getenv("MPHOST_TEST_PLUGIN_DIR")}, SocketDir: func() (string, error) { return socketDir, nil }})
	info, err := s.Info("hello")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(info.Pid)
	select {} // until killed
}

// newSet is a Set of the test plugins, closed at the end of the test.
func newSet(t testing.TB, dirs ...string) *Set {
	t.Helper()
	if dirs == nil {
		dirs = []string{pluginDir}
	}
	s := New(Options{Dirs: dirs, Stderr: io.Discard})
	t.Cleanup(func() { s.Close() })
	return s
}

// luaVM is a lone VM with the module hello of c as the global hello.
func luaVM(t testing.TB, c Caller) *vm.VM {
	t.Helper()
	return moduleVM(t, c, "hello", context.Background())
}

// moduleVM is a lone VM with the module name of c as a global of that
// name, whose calls end when ctx is done.
func moduleVM(t testing.TB, c Caller, name string, ctx context.Context) *vm.VM {
	t.Helper()
	v := vm.New(vm.Options{Stdout: io.Discard, Stderr: io.Discard, Context: ctx})
	t.Cleanup(v.Close)
	mod, err := Open(c, v, name)
	if err != nil {
		t.Fatal(err)
	}
	v.L.SetGlobal(name, mod)
	return v
}

// eval runs src in v and returns what it returns, as Lua's tostring shows
// each value, joined by spaces, or the error's text.
func eval(v *vm.VM, src string) (string, error) {
	L := v.L
	top := L.GetTop()
	defer L.SetTop(top)
	fn, err := L.LoadString(src)
	if err != nil {
		return "", err
	}
	L.Push(fn)
	if err := L.PCall(0, lua.MultRet, nil); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			return "", fmt.Errorf("%s", apiErr.Object.String())
		}
		return "", err
	}
	var parts []string
	for i := top + 1; i <= L.GetTop(); i++ {
		parts = append(parts, L.Get(i).String())
	}
	return strings.Join(parts, " "), nil
}

func mustEval(t testing.TB, v *vm.VM, src string) string {
	t.Helper()
	out, err := eval(v, src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return out
}
