package host

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/mphost/mphost/internal/child"
)

// childStderr takes what a child writes on its own stderr (fd 2), which
// go-plugin hands over a line at a time: what programs the script runs
// (os.execute) write there, and the Go runtime's report when the child
// dies. Lines go to the host's stderr until the runtime says it ran out of
// memory; from that line on, its report (hundreds of lines of goroutine
// stacks) goes to a file, and the host names the process in one line as
// it ends.
type childStderr struct {
	out *output

	mu      sync.Mutex
	line    []byte   // the start of a line not yet ended
	report  *os.File // the runtime's out-of-memory report, once it began
	written bool     // the report's file was made
	name    string   // its path
}

func (c *childProc) stderr(out *output) *childStderr {
	c.fd2 = &childStderr{out: out}
	return c.fd2
}

// outOfMemoryLines start the Go runtime's report when it cannot get memory.
var outOfMemoryLines = [][]byte{[]byte("fatal error: out of memory"), []byte("runtime: out of memory"), []byte("fatal error: runtime: out of memory")}

func (s *childStderr) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.line = append(s.line, p...)
	for {
		i := bytes.IndexByte(s.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		s.writeLine(s.line[:i+1])
		s.line = s.line[i+1:]
	}
}

// writeLine passes a whole line on, or to the report's file.
func (s *childStderr) writeLine(line []byte) {
	if !s.written {
		for _, start := range outOfMemoryLines {
			if bytes.HasPrefix(line, start) {
				s.written = true
				s.report, _ = os.CreateTemp("", fmt.Sprintf("mphost-oom-%d-*.txt", os.Getpid()))
				if s.report != nil {
					s.name = s.report.Name()
				}
			}
		}
	}
	if !s.written {
		s.out.write(child.Stderr, "", line)
		return
	}
	if s.report != nil {
		s.report.Write(line)
	}
}

// outOfMemory reports whether the child's runtime said it ran out of
// memory, and the file that holds its report. Call it once the child's
// stderr is read to its end.
func (s *childStderr) outOfMemory() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.report != nil {
		s.report.Close()
		s.report = nil
	}
	if s.written && s.name == "" {
		return "(none: it could not be written)", true
	}
	return s.name, s.written
}
