package host

import (
	"context"
	"log"
	"os"
	"testing"
)

// A child killed before it dials back to its Host service (here, its start is cancelled
// before the host's Init call) leaves no line on the host's stderr. go-plugin's
// AcceptAndServe wrote "[ERR] plugin: plugin acceptAndServe error: broker closed" to the
// standard logger then, which a run that timed out during a child's start showed its user.
// Not parallel: it takes the standard logger's output.
func TestCancelledStartSaysNothing(t *testing.T) {
	var logged syncBuffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	var stderr syncBuffer
	h := New(Options{Stdout: &syncBuffer{}, Stderr: &stderr})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := h.children.newChild(ctx); err == nil {
		c.kill()
		t.Fatal("a child started with a cancelled context")
	}
	h.Close()
	if logged.String() != "" || stderr.String() != "" {
		t.Errorf("logged %q, stderr %q; want nothing", logged.String(), stderr.String())
	}
}
