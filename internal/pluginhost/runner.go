package pluginhost

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

// procRunner starts one plugin process for go-plugin, from the forking
// thread, and keeps what go-plugin's own runner does not give back: the
// moment the process exits and its status.
type procRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser

	exited chan struct{} // closed once the process is reaped
	once   sync.Once
	state  *os.ProcessState
}

var _ runner.Runner = (*procRunner)(nil)

func newProcRunner(cmd *exec.Cmd) (*procRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &procRunner{cmd: cmd, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

// Start forks the process on the forking thread.
func (r *procRunner) Start(context.Context) error { return fork(r.cmd) }

// Wait reaps the process; go-plugin calls it once, from its own goroutine.
func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.once.Do(func() {
		r.state = r.cmd.ProcessState
		close(r.exited)
	})
	return err
}

// Kill sends SIGKILL.
func (r *procRunner) Kill(context.Context) error { return r.signal(syscall.SIGKILL) }

func (r *procRunner) signal(sig syscall.Signal) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *procRunner) Stdout() io.ReadCloser           { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser           { return r.stderr }
func (r *procRunner) Name() string                    { return r.cmd.Path }
func (r *procRunner) Diagnose(context.Context) string { return "" }

func (r *procRunner) ID() string {
	if r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// ending says how the reaped process ended: "exited with status 3",
// "was killed by signal 9 (killed)". Call it after exited is closed.
func (r *procRunner) ending() string {
	ws, ok := r.state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with status %d", r.state.ExitCode())
}

// forks carries fork requests to the forking thread.
var forks = sync.OnceValue(func() chan<- forkRequest {
	reqs := make(chan forkRequest)
	go runForks(reqs)
	return reqs
})

type forkRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

// fork starts cmd on the forking thread. Linux sends a process its
// Pdeathsig when the thread that forked it exits, not the process, and the
// Go runtime does end threads; the forking thread lives as long as the
// process, so a plugin gets its death signal when the host dies, and only
// then.
func fork(cmd *exec.Cmd) error {
	done := make(chan error)
	forks() <- forkRequest{cmd, done}
	return <-done
}

// runForks forks on its goroutine's thread, forever.
func runForks(reqs <-chan forkRequest) {
	runtime.LockOSThread() // never unlocked: the thread must not be reused
	for req := range reqs {
		req.done <- req.cmd.Start()
	}
}
