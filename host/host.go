// Package host runs mphost scripts and is the API for Go programs that embed
// mphost: a [Host] owns the main script's VM, the table of every process of
// the run (each one the host's own direct child, whoever asked for it), and
// the Host service that children call.
//
// The host is the in-process side of the script package's Runtime seam: the
// main script's `mp` builtins call the Host directly, with no RPC; children
// reach the same methods over gRPC.
//
// A program that embeds the host must let its own binary serve as a child:
// its main calls plugins.ServeWorker first thing when plugins.IsWorker()
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

	"github.com/mphost/mphost/host/objects"
	"github.com/mphost/mphost/plugins"
	pb "github.com/mphost/mphost/plugins/proto"
	"github.com/mphost/mphost/plugins/slots"
	"github.com/mphost/mphost/script"
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
	// Worker is the command that starts a child; the default is this
	// program's binary with the argument plugins.WorkerArg.
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
	chunks   *script.Chunks
	procs    table
	objects  *objects.Registry // every shared object of the run
	values   *slots.Slots      // the numbers of Values, shared with children; nil if none
	worker   []string
	progress bool
	memory   int64 // Options.MemoryLimit

	children sync.WaitGroup // one serveChild goroutine per child
	starting sync.WaitGroup // spawns and warm-ups in progress

	mu          sync.Mutex
	runDir      string      // private 0700 folder of the run's sockets
	idle        []idleChild // children ready for a process, the last used last
	pools       []*hostPool // pools whose owner is alive
	trimming    bool        // a trim of the idle children is scheduled
	warming     int         // children being started ahead of need
	closing     chan struct{}
	closed      bool
	packagePath string // the main script's package.path, for children
}

// idleChild is a child waiting for a process, since a moment.
type idleChild struct {
	c     *child
	since time.Time
}

// The host keeps up to maxIdle children for reuse; those beyond minIdle are
// let go after idleTimeout unused. Once a script has started a process, the
// host keeps warmTarget children started ahead of need.
var (
	minIdle     = max(4, 2*runtime.NumCPU())
	maxIdle     = 64
	idleTimeout = 2 * time.Second
	warmTarget  = runtime.NumCPU()
)

// New returns a Host.
func New(opts Options) *Host {
	h := &Host{
		out: &output{
			stdout: orDefault(opts.Stdout, os.Stdout),
			stderr: orDefault(opts.Stderr, os.Stderr),
			prefix: opts.Prefix,
		},
		chunks:   script.NewChunks(nil),
		objects:  objects.NewRegistry(),
		worker:   opts.Worker,
		progress: opts.Progress,
		memory:   opts.MemoryLimit,
		closing:  make(chan struct{}),
	}
	if len(h.worker) == 0 {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		h.worker = []string{exe, plugins.WorkerArg}
	}
	// Without the shared memory (a system without memfd), Values keep their
	// numbers in the host, as they did before. Values point into it, so it is
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
func (h *Host) Chunks() *script.Chunks { return h.chunks }

// RunFile runs the script at path ("-" reads standard input) with args in
// its global `arg` table. It returns nil when the script ends normally, an
// [*script.ExitError] after os.exit, an [*script.Error] for an uncaught
// error, a [*script.SyntaxError] when it does not compile, and the file's
// error when it cannot be read. As in Python, the script's non-daemon
// children are waited for and its daemons terminated before it returns.
func (h *Host) RunFile(ctx context.Context, path string, args []string) error {
	c, err := script.ReadChunk(path)
	if err != nil {
		return err
	}
	return h.Run(ctx, c, args)
}

// Run runs a chunk as the main script, like RunFile.
func (h *Host) Run(ctx context.Context, c script.Chunk, args []string) error {
	vm := script.New(script.Options{
		Runtime: h,
		Chunks:  h.chunks,
		Stdout:  lockedWriter{h.out, h.out.stdout},
		Stderr:  lockedWriter{h.out, h.out.stderr},
		Context: ctx,
	})
	defer vm.Close()
	vm.SetArgs(c.Name, args)
	if c.Name != "stdin" {
		vm.AddPackagePath(filepath.Dir(c.Name))
	}
	h.mu.Lock()
	h.packagePath = vm.PackagePath()
	h.mu.Unlock()
	luaArgs := make([]lua.LValue, len(args))
	for i, a := range args {
		luaArgs[i] = lua.LString(a)
	}
	err := vm.Run(c, luaArgs...)
	var exit *script.ExitError
	if !errors.As(err, &exit) && ctx.Err() == nil {
		vm.Finish()
	}
	return err
}

// Self implements script.Runtime: the host runs the main process.
func (h *Host) Self() script.ProcessInfo {
	return script.ProcessInfo{Name: "MainProcess", Pid: os.Getpid()}
}

// Parent implements script.Runtime: the main process has none.
func (h *Host) Parent() (script.ProcessInfo, bool) { return script.ProcessInfo{}, false }

// Spawn implements script.Runtime for the main script.
func (h *Host) Spawn(ctx context.Context, req script.SpawnRequest) (script.ProcessStatus, error) {
	return h.spawn(ctx, nil, req)
}

// Wait implements script.Runtime.
func (h *Host) Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (script.ProcessStatus, error) {
	return h.procs.wait(ctx, id, timeout, forever)
}

// Status implements script.Runtime.
func (h *Host) Status(id uint64) (script.ProcessStatus, error) {
	p, err := h.procs.get(id)
	if err != nil {
		return script.ProcessStatus{}, err
	}
	return p.status(), nil
}

// Signal implements script.Runtime.
func (h *Host) Signal(id uint64, sig syscall.Signal) error { return h.procs.signal(id, sig) }

// Release implements script.Runtime.
func (h *Host) Release(id uint64) error { return h.procs.release(id) }

// ensureRunDir makes the run's private socket folder on first use. A unix
// socket path must fit in 108 bytes, and this folder's name and go-plugin's
// below it take up to 64 after $TMPDIR, so a long $TMPDIR gives way to /tmp.
func (h *Host) ensureRunDir() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runDir == "" {
		base := os.TempDir()
		if len(base) > 40 {
			base = "/tmp"
		}
		removeStaleRunDirs(base)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("mphost-%d-", os.Getpid()))
		if err != nil {
			return "", err
		}
		h.runDir = dir
	}
	return h.runDir, nil
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

// begin admits one start of a child or process unless the host is closing;
// Stop waits for every start it admitted. Call h.starting.Done() after.
func (h *Host) begin() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errors.New("the host is shutting down")
	}
	h.starting.Add(1)
	return nil
}

// spawn starts a process for parent (nil: the main script) in an idle
// child, or in a new one.
func (h *Host) spawn(ctx context.Context, parent *process, req script.SpawnRequest) (script.ProcessStatus, error) {
	return h.spawnFor(ctx, parent, req, nil)
}

// spawnFor is spawn, for a process that is a worker of pool when pool is not
// nil: the pool learns of its end.
func (h *Host) spawnFor(ctx context.Context, parent *process, req script.SpawnRequest, pool *objects.Pool) (script.ProcessStatus, error) {
	if err := h.begin(); err != nil {
		h.undelivered(req.Payload, pool)
		return script.ProcessStatus{}, err
	}
	defer h.starting.Done()
	c, err := h.takeChild(ctx)
	if err != nil {
		h.undelivered(req.Payload, pool)
		return script.ProcessStatus{}, err
	}
	p := &process{name: req.Name, identity: req.Identity, daemon: req.Daemon, pid: c.pid, child: c, pool: pool, done: make(chan struct{})}
	parentInfo := h.Self()
	if parent != nil {
		p.parent = parent.id
		parentInfo = script.ProcessInfo{Name: parent.name, Pid: parent.pid}
	}
	h.procs.add(p)
	h.deliverCarried(objects.Owner(p.id), req.Payload, pool == nil)
	h.mu.Lock()
	packagePath := h.packagePath
	h.mu.Unlock()
	c.mu.Lock()
	c.current = p
	c.mu.Unlock()
	_, err = c.worker.Start(ctx, &pb.StartRequest{
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
		return script.ProcessStatus{}, fmt.Errorf("the child process (pid %d) did not take its start: %w", c.pid, err)
	}
	return p.status(), nil
}

// takeChild returns an idle child, or a new one, and starts another in the
// background so the next start finds one ready.
func (h *Host) takeChild(ctx context.Context) (*child, error) {
	h.mu.Lock()
	var c *child
	if n := len(h.idle); n > 0 {
		c, h.idle = h.idle[n-1].c, h.idle[:n-1]
	}
	warm := len(h.idle)+h.warming < warmTarget && !h.closed
	if warm {
		h.warming++
		h.starting.Add(1)
	}
	h.mu.Unlock()
	if warm {
		go func() {
			defer h.starting.Done()
			w, err := h.newChild(context.Background())
			h.mu.Lock()
			h.warming--
			h.mu.Unlock()
			if err == nil {
				h.recycle(w)
			}
		}()
	}
	if c != nil {
		return c, nil
	}
	return h.newChild(ctx)
}

// recycle keeps a child that runs nothing for the next start, or ends it
// when enough are kept or the host is closing.
func (h *Host) recycle(c *child) {
	h.mu.Lock()
	keep := !h.closed && len(h.idle) < maxIdle
	if keep {
		h.idle = append(h.idle, idleChild{c, time.Now()})
		if len(h.idle) > minIdle && !h.trimming {
			h.trimming = true
			time.AfterFunc(idleTimeout, h.trimIdle)
		}
	}
	h.mu.Unlock()
	if !keep {
		c.runner.Kill(context.Background())
	}
}

// trimIdle lets go of the idle children beyond minIdle that have waited
// longer than idleTimeout, and looks again later while there are too many.
func (h *Host) trimIdle() {
	h.mu.Lock()
	var expired []*child
	cutoff := time.Now().Add(-idleTimeout)
	for len(h.idle) > minIdle && h.idle[0].since.Before(cutoff) {
		expired = append(expired, h.idle[0].c)
		h.idle = h.idle[1:]
	}
	h.trimming = len(h.idle) > minIdle && !h.closed
	if h.trimming {
		time.AfterFunc(idleTimeout/2, h.trimIdle)
	}
	h.mu.Unlock()
	for _, c := range expired {
		c.runner.Kill(context.Background())
	}
}

// forget drops a child that is gone from the idle list.
func (h *Host) forget(c *child) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, idle := range h.idle {
		if idle.c == c {
			h.idle = append(h.idle[:i], h.idle[i+1:]...)
			break
		}
	}
}

// finish ends a process: its exit code is known and all its output written.
// What it held of shared objects is given back, and its daemonic children
// are terminated, as when a Python process exits.
func (h *Host) finish(c *child, p *process, code int) {
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
		go script.EndProcesses(context.Background(), h, ids(daemons))
	}
	if p.pool != nil {
		h.procs.remove(p.id) // only its pool knew it, and the pool is told
	}
}

// Close waits for every non-daemon process still running (as Python does at
// exit), stops the daemons, and removes the run's socket folder.
func (h *Host) Close() {
	for _, p := range h.procs.list(func(p *process) bool { return !p.daemon }) {
		<-p.done
	}
	h.Stop()
}

// Stop ends every process still running (script.EndProcesses: SIGTERM,
// then SIGKILL after a short grace). It returns how many it had to stop,
// once all are reaped and the run's socket folder is removed.
func (h *Host) Stop() int {
	h.mu.Lock()
	h.closed = true // no new processes from here on
	h.mu.Unlock()
	h.starting.Wait()
	running := h.procs.list(func(p *process) bool { return !p.ended() })
	script.EndProcesses(context.Background(), h, ids(running))
	for _, p := range h.procs.list(func(*process) bool { return true }) {
		<-p.done
	}
	h.mu.Lock()
	idle := h.idle
	h.idle = nil
	select {
	case <-h.closing:
	default:
		close(h.closing)
	}
	h.mu.Unlock()
	for _, idle := range idle {
		idle.c.runner.Kill(context.Background())
	}
	h.children.Wait()
	h.objects.Release()
	if h.values != nil {
		h.values.CloseFile() // no child will start; Values still use the mapping
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runDir != "" {
		os.RemoveAll(h.runDir)
		h.runDir = ""
	}
	return len(running)
}
