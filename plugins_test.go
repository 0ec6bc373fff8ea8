package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
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
