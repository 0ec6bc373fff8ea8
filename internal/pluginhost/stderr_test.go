package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer for writers on several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPluginStderr has the probe plugin write to its stderr in pieces,
// panic in Go inside a call, and crash: every line reaches the run's
// stderr whole and named by plugin and pid; the Go panic fails only its
// call, named, and the same process serves the next; the crash fails its
// call saying how the process ended, and its panic is on stderr.
func TestPluginStderr(t *testing.T) {
	var stderr syncBuffer
	s := New(Options{Dirs: []string{pluginDir}, Stderr: &stderr})
	t.Cleanup(func() { s.Close() })
	v := moduleVM(t, s, "probe", context.Background())
	info, err := s.Info("probe")
	if err != nil {
		t.Fatal(err)
	}
	named := fmt.Sprintf("[plugin probe pid %d] ", info.Pid)

	mustEval(t, v, `probe.log("a log ", "line", " in pieces\n", "and a last one")`)
	waitFor(t, "the log line", func() bool { return strings.Contains(stderr.String(), named+"a log line in pieces\n") })

	_, err = eval(v, `probe.gopanic("kaboom")`)
	if err == nil || !strings.HasPrefix(err.Error(), "<string>:1: plugin probe: ") || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("a Go panic: %v, want the plugin named and the panic's message", err)
	}
	if got := mustEval(t, v, `return probe.spinning()`); got != "0" {
		t.Errorf("after the panic: spinning() = %s", got)
	}
	if again, _ := s.Info("probe"); again == nil || again.Pid != info.Pid {
		t.Errorf("after a Go panic in a call: %v, want the same process %d", again, info.Pid)
	}

	_, err = eval(v, `probe.crash("the plugin crashed")`)
	want := fmt.Sprintf("<string>:1: plugin probe (pid %d) exited with status 2 during the call of probe.crash", info.Pid)
	if err == nil || err.Error() != want {
		t.Errorf("crash: %v, want %q", err, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := stderr.String()
	for _, line := range []string{named + "panic: the plugin crashed\n", named + "and a last one\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("stderr has no line %q:\n%s", line, out)
		}
	}
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(line, named) || !strings.HasSuffix(line, "\n") {
			t.Errorf("a line not whole or not named: %q", line)
		}
	}
}
