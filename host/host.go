// Package host runs mphost scripts and is the API for Go programs that embed
// mphost: a [Host] owns the main script's VM, the table of every process of
// the run (each one the host's own direct child, whoever asked for it), the
// supervisor of the OS processes (children) that run them, and the Host
// service that children call.
//
// The host is the in-process side of the script package's Runtime seam: the
// main script's `mp` builtins call the Host directly, with no RPC; children
// reach the same methods over gRPC.
//
// A program that embeds the host must let its own binary serve as a child:
// its main calls child.ServeWorker first thing when child.IsWorker()
// says so (or Options.Worker names another binary that does).
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/child"
	"github.com/mphost/mphost/internal/objects"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
)

// Options configure a [Host]. The zero value writes to the process's own
// stdout and stderr and starts children from this program's own binary.
type Options struct {
	Stdout, Stderr io.Writer
	// Prefix puts "[name pid] " before each line a child prints.
	Prefix bool
	// Progress draws a progress bar on stderr for pool work, when stderr
	// is a terminal (mphost run --progress).
	Progress bool
	// Worker is the command that starts a child, the OS process that runs
	// one process at a time (mp.Process or pool worker); the default is
	// this program's binary with the argument child.WorkerArg.
	Worker []string
	// MemoryLimit bounds the memory of every child process, in bytes,
	// unless the process has a memory_limit of its own; 0: no limit
	// (mphost run --memory-limit).
	MemoryLimit int64
}

// Host runs scripts. One Host runs one main script at a time; call Close
// (or Stop) when done with it.
type Host struct {
	out      *output
	chunks   *vm.Chunks
	procs    table
	children *supervisor       // the OS processes that run the processes
	objects  *objects.Registry // every shared object of the run
	values   *slots.Slots      // the numbers of Values, shared with children; nil if none
	progress bool

	spawning sync.WaitGroup // spawns in progress, which Stop waits for

	mu          sync.Mutex
	pools       []*hostPool // pools whose owner is alive
	closed      bool        // no process starts from here on
	packagePath string      // the main script's package.path, for children
}

// New returns a Host.
func New(opts Options) *Host {
	started.Store(true)
	h := &Host{
		out: &output{
			stdout: orDefault(opts.Stdout, os.Stdout),
			stderr: orDefault(opts.Stderr, os.Stderr),
			prefix: opts.Prefix,
		},
		chunks:   vm.NewChunks(nil),
		objects:  objects.NewRegistry(),
		progress: opts.Progress,
	}
	command := opts.Worker
	if len(command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		command = []string{exe, child.WorkerArg}
	}
	// Without the shared memory (a system without memfd), Values keep their
	// numbers in the host's objects, and every get or add is a call. Values
	// point into the memory, so it is
	// unmapped only when the Host is no longer reachable.
	if values, err := slots.New(); err == nil {
		h.values = values
		runtime.AddCleanup(h, func(v *slots.Slots) { v.Close() }, values)
		// A freed object's index comes back for another object, whose slot
		// starts clear (a tally counts from 0).
		h.objects.OnFree(func(id uint64) {
			if w := values.Word(id); w != nil {
				w.Store(0)
			}
		})
	}
	h.children = &supervisor{
		command:   command,
		memory:    opts.MemoryLimit,
		values:    h.values,
		out:       h.out,
		service:   func(c *childProc) *service { return &service{h: h, childProc: c} },
		ended:     h.finish,
		lifelines: make(chan struct{}),
	}
	return h
}

func orDefault(w, def io.Writer) io.Writer {
	if w == nil {
		return def
	}
	return w
}

// Chunks is the record of every chunk the host's scripts have loaded; it is
// the store children fetch closures' code from.
func (h *Host) Chunks() *vm.Chunks { return h.chunks }

// RunFile runs the script at path ("-" reads standard input) with args in
// its global `arg` table. It returns nil when the script ends normally, an
// [*vm.ExitError] after os.exit, an [*vm.Error] for an uncaught
// error, a [*vm.SyntaxError] when it does not compile, and the file's
// error when it cannot be read. As in Python, the script's non-daemon
// children are waited for and its daemons terminated before it returns.
func (h *Host) RunFile(ctx context.Context, path string, args []string) error {
	c, err := vm.ReadChunk(path)
	if err != nil {
		return err
	}
	return h.Run(ctx, c, args)
}

// Run runs a chunk as the main script, like RunFile.
func (h *Host) Run(ctx context.Context, c vm.Chunk, args []string) error {
	v := vm.New(vm.Options{
		Runtime: h,
		Chunks:  h.chunks,
		Stdout:  lockedWriter{h.out, h.out.stdout},
		Stderr:  lockedWriter{h.out, h.out.stderr},
		Context: ctx,
	})
	defer v.Close()
	v.SetArgs(c.Name, args)
	if c.Name != "stdin" {
		v.AddPackagePath(filepath.Dir(c.Name))
	}
	h.mu.Lock()
	h.packagePath = v.PackagePath()
	h.mu.Unlock()
	luaArgs := make([]lua.LValue, len(args))
	for i, a := range args {
		luaArgs[i] = lua.LString(a)
	}
	err := v.Run(c, luaArgs...)
	var exit *vm.ExitError
	if !errors.As(err, &exit) && ctx.Err() == nil {
		v.Finish()
	}
	return err
}

// Self implements vm.Runtime: the host runs the main process.
func (h *Host) Self() vm.ProcessInfo {
	return vm.ProcessInfo{Name: "MainProcess", Pid: os.Getpid()}
}

// Parent implements vm.Runtime: the main process has none.
func (h *Host) Parent() (vm.ProcessInfo, bool) { return vm.ProcessInfo{}, false }

// Spawn implements vm.Runtime for the main script.
func (h *Host) Spawn(ctx context.Context, req vm.SpawnRequest) (vm.ProcessStatus, error) {
	return h.spawn(ctx, nil, req)
}

// Wait implements vm.Runtime.
func (h *Host) Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (vm.ProcessStatus, error) {
	return h.procs.wait(ctx, id, timeout, forever)
}

// Status implements vm.Runtime.
func (h *Host) Status(id uint64) (vm.ProcessStatus, error) {
	p, err := h.procs.get(id)
	if err != nil {
		return vm.ProcessStatus{}, err
	}
	return p.status(), nil
}

// Signal implements vm.Runtime.
func (h *Host) Signal(id uint64, sig syscall.Signal) error { return h.procs.signal(id, sig) }

// Release implements vm.Runtime.
func (h *Host) Release(id uint64) error { return h.procs.release(id) }

// begin admits one start of a process unless the host is closing; Stop
// waits for every start it admitted. Call h.spawning.Done() after.
func (h *Host) begin() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("the host is shutting down")
	}
	h.spawning.Add(1)
	return nil
}

// spawn starts a process for parent (nil: the main script) in a child the
// supervisor gives: an idle one, or a new one.
func (h *Host) spawn(ctx context.Context, parent *process, req vm.SpawnRequest) (vm.ProcessStatus, error) {
	return h.spawnFor(ctx, parent, req, nil)
}

// spawnFor is spawn, for a process that is a pool worker of pool when pool
// is not nil: the pool learns of its end.
func (h *Host) spawnFor(ctx context.Context, parent *process, req vm.SpawnRequest, pool *objects.Pool) (vm.ProcessStatus, error) {
	if err := h.begin(); err != nil {
		h.undelivered(req.Payload, pool)
		return vm.ProcessStatus{}, err
	}
	defer h.spawning.Done()
	c, err := h.children.take(ctx)
	if err != nil {
		h.undelivered(req.Payload, pool)
		return vm.ProcessStatus{}, err
	}
	p := &process{name: req.Name, identity: req.Identity, daemon: req.Daemon, pid: c.pid, childProc: c, pool: pool, done: make(chan struct{})}
	parentInfo := h.Self()
	if parent != nil {
		p.parent = parent.id
		parentInfo = vm.ProcessInfo{Name: parent.name, Pid: parent.pid}
	}
	h.procs.add(p)
	h.deliverCarried(objects.Owner(p.id), req.Payload, pool == nil)
	h.mu.Lock()
	packagePath := h.packagePath
	h.mu.Unlock()
	c.mu.Lock()
	c.current = p
	c.mu.Unlock()
	_, err = c.rpc.Start(ctx, &pb.StartRequest{
		Id: p.id, Name: p.name, Identity: p.identity, Payload: req.Payload,
		ParentName: parentInfo.Name, ParentPid: int64(parentInfo.Pid), PackagePath: packagePath,
	})
	if err != nil {
		select {
		case <-p.done:
			// The process ran and ended before Start's answer came back, and
			// its child was let go: the start did happen.
			return p.status(), nil
		default:
		}
		c.runner.Kill(ctx)
		<-p.done
		h.procs.remove(p.id)
		return vm.ProcessStatus{}, fmt.Errorf("the child process (pid %d) did not take its start: %w", c.pid, err)
	}
	return p.status(), nil
}

// finish ends a process: its exit code is known and all its output written.
// What it held of shared objects is given back, and its daemonic children
// are terminated, as when a Python process exits (on a goroutine of their
// own, which vm.EndProcesses bounds by its grace). It reports whether
// the child may run another process: not when the process was a pool
// worker of a pool that retires them (maxtasksperchild is there to give
// back what a long-lived process holds, its Go heap: the OS process ends
// too).
func (h *Host) finish(c *childProc, p *process, code int) (reuse bool) {
	h.objects.Died(objects.Owner(p.id))
	h.ownerDied(objects.Owner(p.id))
	if p.pool != nil {
		p.pool.WorkerExited(objects.Owner(p.id), exitText(p, code))
	}
	c.mu.Lock()
	c.current = nil
	p.exitCode = code
	close(p.done)
	c.mu.Unlock()
	if daemons := h.procs.list(func(q *process) bool { return q.parent == p.id && q.daemon && !q.ended() }); len(daemons) > 0 {
		go vm.EndProcesses(context.Background(), h, ids(daemons))
	}
	if p.pool != nil {
		h.procs.remove(p.id) // only its pool knew it, and the pool is told
	}
	return p.pool == nil || !p.pool.RetiresWorkers()
}

// Close waits for every non-daemon process still running (as Python does at
// exit), stops the daemons, and removes the run's socket folder.
func (h *Host) Close() {
	for _, p := range h.procs.list(func(p *process) bool { return !p.daemon }) {
		<-p.done
	}
	h.Stop()
}

// Stop ends every process still running (vm.EndProcesses: SIGTERM,
// then SIGKILL after a short grace). It returns how many it had to stop,
// once all are reaped and the run's socket folder is removed.
func (h *Host) Stop() int {
	h.mu.Lock()
	h.closed = true // no new processes from here on
	h.mu.Unlock()
	h.children.stopStarting()
	h.spawning.Wait()
	running := h.procs.list(func(p *process) bool { return !p.ended() })
	vm.EndProcesses(context.Background(), h, ids(running))
	for _, p := range h.procs.list(func(*process) bool { return true }) {
		<-p.done
	}
	h.children.close()
	h.objects.Release()
	if h.values != nil {
		h.values.CloseFile() // no child will start; Values still use the mapping
	}
	return len(running)
}
