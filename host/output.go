package host

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/mphost/mphost/internal/child"
)

// output writes the lines of every process to the host's stdout and stderr,
// whole lines at a time, so lines of different processes never interleave.
type output struct {
	mu     sync.Mutex
	stdout io.Writer
	stderr io.Writer
	prefix bool // "[name pid] " before each line of a child
}

// lines assembles one child's output frames into whole lines for the
// process it runs now.
type lines struct {
	o       *output
	host    *output // the host's, where a process without a link writes
	prefix  string
	pending [3][]byte // per stream, the start of an unfinished line
}

// begin starts the output of a new process.
func (l *lines) begin(name string, pid int, link *runLink) {
	l.o = l.host
	if link != nil {
		l.o = link.out
	}
	l.prefix = ""
	if l.o.prefix {
		l.prefix = fmt.Sprintf("[%s %d] ", name, pid)
	}
}

// feed takes a frame's bytes and writes the lines they complete.
func (l *lines) feed(stream byte, data []byte) {
	buf := append(l.pending[stream], data...)
	end := bytes.LastIndexByte(buf, '\n') + 1
	l.o.write(stream, l.prefix, buf[:end])
	l.pending[stream] = append(buf[:0:0], buf[end:]...)
}

// end writes what is left, a last line without a newline getting one.
func (l *lines) end() {
	for stream, rest := range l.pending {
		if len(rest) > 0 {
			l.o.write(byte(stream), l.prefix, append(rest, '\n'))
		}
		l.pending[stream] = nil
	}
}

// write writes whole lines to one stream, each with the prefix.
func (o *output) write(stream byte, prefix string, lines []byte) {
	if len(lines) == 0 {
		return
	}
	if prefix != "" {
		var b bytes.Buffer
		for len(lines) > 0 {
			i := bytes.IndexByte(lines, '\n') + 1
			b.WriteString(prefix)
			b.Write(lines[:i])
			lines = lines[i:]
		}
		lines = b.Bytes()
	}
	w := o.stdout
	if stream == child.Stderr {
		w = o.stderr
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	w.Write(lines)
}

// lockedWriter is one of the host's streams for the main script's own
// output, serialized with the children's lines.
type lockedWriter struct {
	o *output
	w io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.o.mu.Lock()
	defer l.o.mu.Unlock()
	return l.w.Write(p)
}
