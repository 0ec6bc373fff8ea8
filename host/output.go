package host

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mphost/mphost/plugins"
)

// output writes the lines of every process to the host's stdout and stderr,
// whole lines at a time, so lines of different processes never interleave.
type output struct {
	mu     sync.Mutex
	stdout io.Writer
	stderr io.Writer
	prefix bool // "[name pid] " before each line of a child
}

// pump copies one child's output pipe to the host's streams until the pipe
// ends, which is when the child has exited. A last line without a newline
// gets one.
func (o *output) pump(pipe *os.File, name string, pid int) {
	defer pipe.Close()
	r := bufio.NewReaderSize(pipe, 64<<10)
	var pending [3][]byte // per stream, the start of an unfinished line
	prefix := ""
	if o.prefix {
		prefix = fmt.Sprintf("[%s %d] ", name, pid)
	}
	for {
		stream, data, err := plugins.ReadFrame(r)
		if len(data) > 0 {
			buf := append(pending[stream], data...)
			end := bytes.LastIndexByte(buf, '\n') + 1
			o.write(stream, prefix, buf[:end])
			pending[stream] = append(buf[:0:0], buf[end:]...)
		}
		if err != nil {
			break
		}
	}
	for stream, rest := range pending {
		if len(rest) > 0 {
			o.write(byte(stream), prefix, append(rest, '\n'))
		}
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
	if stream == plugins.Stderr {
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
