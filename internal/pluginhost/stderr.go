package pluginhost

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// lineWriter writes what a plugin process writes to its stderr to the
// run's stderr, whole lines only, each in one Write and named by the
// plugin and its pid: "[plugin hello pid 4242] panic: ...". Every stream
// of a process has its own lineWriter.
type lineWriter struct {
	out  io.Writer
	name string
	pid  func() int

	mu      sync.Mutex
	partial []byte // the start of a line whose end has not come
}

// Write writes each whole line of p with the plugin's name before it, and
// keeps a last line without its newline for the next Write or Flush.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		w.partial = append(w.partial, p[:i]...)
		w.line()
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes a last line that has no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line()
	}
}

// line writes the line in partial, and empties it.
func (w *lineWriter) line() {
	line := fmt.Appendf(nil, "[plugin %s pid %d] %s\n", w.name, w.pid(), w.partial)
	w.out.Write(line)
	w.partial = w.partial[:0]
}
