// Package spawn starts the processes mphost supervises, children and
// plugins alike, for go-plugin: from a thread of their own, so that each
// gets its death signal when its mphost dies and only then, and with a
// runner that keeps what go-plugin's own does not give back (the moment the
// process exits, and how).
package spawn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/hashicorp/go-plugin/runner"
)

// Thread forks processes from one goroutine locked to an OS thread of its
// own: Linux sends a process its Pdeathsig when the thread that forked it
// exits, not the process, and the Go runtime does end threads. The thread
// starts with the first fork and lives until Stop, which its owner calls
// once every process it forked is reaped. The zero Thread is ready.
type Thread struct {
	mu      sync.RWMutex     // read-held by each fork, so Stop never closes reqs under one
	reqs    chan forkRequest // nil before the first fork
	stopped bool
}

type forkRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

// ErrStopped is the error of a fork after Stop.
var ErrStopped = errors.New("the host is shutting down")

// Fork starts cmd on the thread, which it starts on first use. Forks wait
// for the thread in the channel's queue, not on the lock.
func (t *Thread) Fork(cmd *exec.Cmd) error {
	t.mu.RLock()
	if t.reqs == nil {
		t.mu.RUnlock()
		t.mu.Lock()
		if t.reqs == nil && !t.stopped {
			t.reqs = make(chan forkRequest)
			go runThread(t.reqs)
		}
		t.mu.Unlock()
		t.mu.RLock()
	}
	defer t.mu.RUnlock()
	if t.stopped {
		return ErrStopped
	}
	done := make(chan error)
	t.reqs <- forkRequest{cmd, done}
	return <-done
}

// Stop ends the thread once the forks under way are done; Fork refuses
// from then on.
func (t *Thread) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reqs != nil && !t.stopped {
		close(t.reqs)
	}
	t.stopped = true
}

// runThread forks on the calling goroutine's thread until reqs is closed;
// the thread then exits with it.
func runThread(reqs <-chan forkRequest) {
	runtime.LockOSThread() // never unlocked: the thread must not be reused
	for req := range reqs {
		req.done <- req.cmd.Start()
	}
}

// Runner starts one process for go-plugin from a Thread, and tells when it
// has exited and how.
type Runner struct {
	Cmd            *exec.Cmd
	thread         *Thread
	stdout, stderr io.ReadCloser

	exited chan struct{} // closed once the process is reaped
	once   sync.Once
	state  *os.ProcessState
}

var _ runner.Runner = (*Runner)(nil)

// NewRunner makes the runner of cmd, to be forked from thread.
func NewRunner(cmd *exec.Cmd, thread *Thread) (*Runner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &Runner{Cmd: cmd, thread: thread, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

// Start forks the process from the runner's thread.
func (r *Runner) Start(context.Context) error { return r.thread.Fork(r.Cmd) }

// Wait reaps the process; go-plugin calls it once, from its own goroutine.
func (r *Runner) Wait(context.Context) error {
	err := r.Cmd.Wait()
	r.once.Do(func() {
		r.state = r.Cmd.ProcessState
		close(r.exited)
	})
	return err
}

// Exited is closed once the process is reaped.
func (r *Runner) Exited() <-chan struct{} { return r.exited }

// Pid is the process's id, 0 before it started.
func (r *Runner) Pid() int {
	if r.Cmd.Process == nil {
		return 0
	}
	return r.Cmd.Process.Pid
}

// Kill sends SIGKILL.
func (r *Runner) Kill(context.Context) error { return r.Signal(syscall.SIGKILL) }

// Signal sends sig to the process, if it has started and is not reaped.
func (r *Runner) Signal(sig syscall.Signal) error {
	if r.Cmd.Process == nil {
		return nil
	}
	if err := r.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// Stdout is the process's stdout, which go-plugin reads.
func (r *Runner) Stdout() io.ReadCloser { return r.stdout }

// Stderr is the process's stderr, which go-plugin reads.
func (r *Runner) Stderr() io.ReadCloser { return r.stderr }

// Name is the path of the executable.
func (r *Runner) Name() string { return r.Cmd.Path }

// Diagnose has nothing to add to an error.
func (r *Runner) Diagnose(context.Context) string { return "" }

// ID is the process's pid as text.
func (r *Runner) ID() string { return strconv.Itoa(r.Pid()) }

// PluginToHost leaves the address as it is: both ends share the machine.
func (r *Runner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin leaves the address as it is: both ends share the machine.
func (r *Runner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// ExitCode is Python's exitcode of the reaped process: its status, or -N
// after signal N. Call it after Exited is closed.
func (r *Runner) ExitCode() int {
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return r.state.ExitCode()
}

// Ending says how the reaped process ended: "exited with status 3", "was
// killed by signal 9 (killed)". Call it after Exited is closed.
func (r *Runner) Ending() string {
	if code := r.ExitCode(); code < 0 {
		sig := syscall.Signal(-code)
		return fmt.Sprintf("was killed by signal %d (%v)", -code, sig)
	}
	return fmt.Sprintf("exited with status %d", r.ExitCode())
}
