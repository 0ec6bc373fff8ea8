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

// childRunner starts one child for go-plugin and keeps what go-plugin's own
// runner does not give back: the moment the child exits and its status.
type childRunner struct {
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser

	exited chan struct{} // closed once the child is reaped
	once   sync.Once
	state  *os.ProcessState
}

var _ runner.Runner = (*childRunner)(nil)

func newChildRunner(cmd *exec.Cmd) (*childRunner, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &childRunner{cmd: cmd, stdout: stdout, stderr: stderr, exited: make(chan struct{})}, nil
}

// Start starts the child on the spawner thread.
func (r *childRunner) Start(context.Context) error {
	spawnerOnce.Do(func() { go spawner() })
	done := make(chan error)
	spawns <- spawnRequest{r.cmd, done}
	return <-done
}

// Linux sends a child its Pdeathsig when the thread that forked it exits,
// not the process, and the Go runtime does end threads. So every child is
// forked from one goroutine locked to a thread that lives as long as the
// host.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan<- error
}

var (
	spawns      = make(chan spawnRequest)
	spawnerOnce sync.Once
)

func spawner() {
	runtime.LockOSThread() // never unlocked: the thread must not exit
	for req := range spawns {
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
