package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/spawn"
)

// supervisor starts and ends the run's children: the OS processes (the
// child command, this program's binary by default, served by go-plugin)
// that run the processes of the script. It owns the run's private socket
// folder, the thread children are forked from, the idle children kept for
// reuse, the children started ahead of need, the trimming of idle ones,
// the goroutine that serves each child's output, and each child's end
// (go-plugin's Kill, then SIGKILL after a grace: see child.kill).
//
// It does not own processes: the Host binds a process to a child it takes
// from the supervisor, keeps the process table, and is told through ended
// when the process a child ran has ended. Nor does it own shared objects,
// pools, or the main script's VM. Its lock guards only the fields below mu.
type supervisor struct {
	command []string                  // starts a child (Options.Worker)
	memory  int64                     // each child's memory limit, in bytes; 0: none
	values  *slots.Slots              // the Values' memory, handed to each child; nil if none
	out     *output                   // where children's output goes
	service func(*childProc) *service // the Host service a new child calls
	// ended tells the Host that the process p a child ran has ended with
	// code; it reports whether the child may run another process.
	ended func(c *childProc, p *process, code int) (reuse bool)
	forks spawn.Thread // the thread children are forked from

	serving   sync.WaitGroup // one serveChild goroutine per child
	warmups   sync.WaitGroup // children being started ahead of need
	lifelines chan struct{}  // closed by close: every child's lifeline ends

	mu       sync.Mutex
	dir      string      // the run's private 0700 socket folder; "" before the first child
	idle     []idleChild // children ready for a process, the last used last
	warming  int         // children being started ahead of need
	trimming bool        // a trim of the idle children is scheduled
	closed   bool        // no child is kept or started ahead of need from here on
}

// idleChild is a child waiting for a process, since a moment.
type idleChild struct {
	c     *childProc
	since time.Time
}

// The supervisor keeps up to maxIdle children for reuse; those beyond
// minIdle are let go after idleTimeout unused. Once a script has started a
// process, it keeps warmTarget children started ahead of need.
var (
	minIdle     = max(4, 2*runtime.NumCPU())
	maxIdle     = 64
	idleTimeout = 2 * time.Second
	warmTarget  = runtime.NumCPU()
)

// socketDir makes the run's private socket folder on first use. A unix
// socket path must fit in 108 bytes, and this folder's name and go-plugin's
// below it take up to 64 after $TMPDIR, so a long $TMPDIR gives way to /tmp.
func (s *supervisor) socketDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		base := os.TempDir()
		if len(base) > 40 {
			base = "/tmp"
		}
		removeStaleRunDirs(base)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("mphost-%d-", os.Getpid()))
		if err != nil {
			return "", err
		}
		s.dir = dir
	}
	return s.dir, nil
}

// removeStaleRunDirs removes the run folders of hosts that are gone: a host
// killed with SIGKILL cannot remove its own, and its children die with it.
// A folder's name carries its host's pid.
func removeStaleRunDirs(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "mphost-*-*"))
	for _, dir := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "mphost-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(dir)
		}
	}
}

// take returns an idle child, or a new one, and starts another in the
// background so the next start finds one ready. The warm-up goroutine is
// the supervisor's: stopStarting waits for it.
func (s *supervisor) take(ctx context.Context) (*childProc, error) {
	s.mu.Lock()
	var c *childProc
	if n := len(s.idle); n > 0 {
		c, s.idle = s.idle[n-1].c, s.idle[:n-1]
	}
	warm := len(s.idle)+s.warming < warmTarget && !s.closed
	if warm {
		s.warming++
		s.warmups.Add(1)
	}
	s.mu.Unlock()
	if warm {
		go func() {
			defer s.warmups.Done()
			w, err := s.newChild(context.Background())
			s.mu.Lock()
			s.warming--
			s.mu.Unlock()
			if err == nil {
				s.recycle(w)
			}
		}()
	}
	if c != nil {
		return c, nil
	}
	return s.newChild(ctx)
}

// recycle keeps a child that runs nothing for the next start, or ends it
// when enough are kept or the supervisor is closing.
func (s *supervisor) recycle(c *childProc) {
	s.mu.Lock()
	keep := !s.closed && len(s.idle) < maxIdle
	if keep {
		s.idle = append(s.idle, idleChild{c, time.Now()})
		if len(s.idle) > minIdle && !s.trimming {
			s.trimming = true
			time.AfterFunc(idleTimeout, s.trimIdle)
		}
	}
	s.mu.Unlock()
	if !keep {
		c.runner.Kill(context.Background())
	}
}

// trimIdle lets go of the idle children beyond minIdle that have waited
// longer than idleTimeout, and looks again later while there are too many
// (never once the supervisor is closing: the timer's owner stops it so).
func (s *supervisor) trimIdle() {
	s.mu.Lock()
	var expired []*childProc
	cutoff := time.Now().Add(-idleTimeout)
	for len(s.idle) > minIdle && s.idle[0].since.Before(cutoff) {
		expired = append(expired, s.idle[0].c)
		s.idle = s.idle[1:]
	}
	s.trimming = len(s.idle) > minIdle && !s.closed
	if s.trimming {
		time.AfterFunc(idleTimeout/2, s.trimIdle)
	}
	s.mu.Unlock()
	for _, c := range expired {
		c.runner.Kill(context.Background())
	}
}

// forget drops a child that is gone from the idle list.
func (s *supervisor) forget(c *childProc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, idle := range s.idle {
		if idle.c == c {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			break
		}
	}
}

// stopStarting starts no more children ahead of need and keeps none for
// reuse from here on (a child whose process ends is let go), and waits for
// the warm-ups in progress. take still starts a child for a start that the
// Host admitted before it closed.
func (s *supervisor) stopStarting() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.warmups.Wait()
}

// close ends every child: it ends their lifelines and lets the idle ones
// go, then waits until every child is reaped and its output served, stops
// the thread children are forked from, and removes the socket folder. Call
// it after stopStarting, once no process runs and none will start.
func (s *supervisor) close() {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	select {
	case <-s.lifelines:
	default:
		close(s.lifelines)
	}
	s.mu.Unlock()
	for _, idle := range idle {
		idle.c.runner.Kill(context.Background())
	}
	s.serving.Wait()
	s.forks.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}
