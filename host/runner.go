package host

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/hashicorp/go-plugin/runner"
)

// childRunner starts one child for go-plugin, from its supervisor's
// spawner thread, and keeps what go-plugin's own runner does not give back:
// the moment the child exits and its status.
type childRunner struct {
	cmd            *exec.Cmd
	forks          *spawner
	stdout, stderr io.ReadCloser

	exited chan struct{} // closed once the child is reaped
	once   sync.Once
	state  *os.ProcessState
}

var _ runner.Runner = (*childRunner)(nil)

func newChildRunner(cmd *exec.Cmd, forks *spawner) (*childRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &childRunner{cmd: cmd, forks: forks, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

// Start forks the child from its supervisor's spawner thread.
func (r *childRunner) Start(context.Context) error {
	return r.forks.fork(r.cmd)
}

// spawner forks children from one goroutine locked to an OS thread of its
// own: Linux sends a child its Pdeathsig when the thread that forked it
// exits, not the process, and the Go runtime does end threads. The thread
// starts with the first fork and lives until stop, which its supervisor
// calls once every child it forked is reaped.
type spawner struct {
	mu      sync.RWMutex      // read-held by each fork, so stop never closes reqs under one
	reqs    chan spawnRequest // nil before the first fork
	stopped bool
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

// fork starts cmd on the spawner thread, which it starts on first use.
// Forks wait for the thread in the channel's queue, not on the lock.
func (s *spawner) fork(cmd *exec.Cmd) error {
	s.mu.RLock()
	if s.reqs == nil {
		s.mu.RUnlock()
		s.mu.Lock()
		if s.reqs == nil && !s.stopped {
			s.reqs = make(chan spawnRequest)
			go runSpawner(s.reqs)
		}
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	if s.stopped {
		return errors.New("the host is shutting down")
	}
	done := make(chan error)
	s.reqs <- spawnRequest{cmd, done}
	return <-done
}

// stop ends the spawner thread once the forks under way are done; fork
// refuses from then on.
func (s *spawner) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reqs != nil && !s.stopped {
		close(s.reqs)
	}
	s.stopped = true
}

// runSpawner forks on the calling goroutine's thread until reqs is closed;
// the thread then exits with it.
func runSpawner(reqs <-chan spawnRequest) {
	runtime.LockOSThread() // never unlocked: the thread must not be reused
	for req := range reqs {
		req.done <- req.cmd.Start()
	}
}

// Wait reaps the child; go-plugin calls it once, from its own goroutine.
func (r *childRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.once.Do(func() {
		r.state = r.cmd.ProcessState
		close(r.exited)
	})
	return err
}

func (r *childRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *childRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *childRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *childRunner) Name() string                    { return r.cmd.Path }
func (r *childRunner) Diagnose(context.Context) string { return "" }

func (r *childRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *childRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *childRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// exitCode is Python's exitcode of a reaped child: its status, or -N after
// signal N. Call it after exited is closed.
func (r *childRunner) exitCode() int {
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return r.state.ExitCode()
}
