// Package host runs mphost scripts: it is the API for Go programs that embed
// mphost. A [Host] runs a main script ([Host.RunFile], [Host.RunString]) in
// a Lua VM of this process, and every mp.Process and pool worker the script
// starts in a child process that it owns and supervises: the program's own
// binary, started again. Hence two rules:
//
//   - main, and TestMain in tests, calls [ServeChild] first thing: in a
//     child it serves, and never returns;
//   - Go modules for scripts are registered with [Register] in init (or
//     before ServeChild), so that children have them too.
//
// Values go in as [Options.Globals] and come back as the chunk's returned
// values, converted by the script package. A run ends with nil or one of
// the errors [*ExitError], [*Error], [*SyntaxError] (aliases of the script
// package's types, so errors.As works with either) or [*StoppedError] when
// its context ended. [Host.Close] ends whatever is left.
//
// What the mphost command offers is here for any program: Options.Prefix,
// Progress, Timeout and MemoryLimit are its flags, [Check] is mphost check,
// [Text] prints an error as mphost does.
package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/child"
	icluster "github.com/mphost/mphost/internal/cluster"
	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/pluginhost"
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
	// one process at a time (mp.Process or pool worker), when it is not
	// this program's binary: a program whose main calls ServeChild first,
	// and which registers the same Go modules. The host adds an argument
	// of its own after it.
	Worker []string
	// MemoryLimit bounds the memory of every child process, in bytes,
	// unless the process has a memory_limit of its own; 0: no limit
	// (mphost run --memory-limit).
	MemoryLimit int64
	// Timeout, when not 0, ends each run after this long, as a context
	// deadline would (mphost run --timeout).
	Timeout time.Duration
	// Globals are set in the main script before it runs, converted as
	// [script.ToLua] converts.
	Globals map[string]any
	// PluginDirs are searched first for plugins (executables named
	// mphost-plugin-NAME), before $MPHOST_PLUGIN_PATH and
	// $XDG_CONFIG_HOME/mphost/plugins (mphost run --plugin-dir). A plugin
	// starts at the first require of its module in a run, serves every
	// process of the run, and ends with the run.
	PluginDirs []string
	// PrintErrors prints a main script's uncaught error ([Text]) on Stderr
	// as soon as the script raises it, before the run waits for the
	// script's non-daemon processes, as Python prints a traceback before it
	// joins its children; the run still returns the error (mphost run).
	PrintErrors bool
	// Cluster, when set, is the URL of a cluster (nats://TOKEN@HOST:PORT, or
	// tls://): every Pool of a run sends its tasks to the cluster's workers
	// instead of starting processes, its processes bounding the tasks in
	// flight (mphost run --cluster). The host connects at its first run.
	Cluster string
	// ClusterCreds is a NATS credentials file for the cluster, for servers
	// that want one rather than the URL's token.
	ClusterCreds string
	// ClusterIdleAfter is how long a run's tasks wait on the cluster with no
	// worker taking one before the run says so on Stderr (and goes on
	// waiting); 10 s when 0.
	ClusterIdleAfter time.Duration
}

// hostCluster is the host's link to its cluster (Options.Cluster).
type hostCluster struct {
	url, creds string
	idleAfter  time.Duration
	conn       *icluster.Conn // once a run has connected
	run        *clusterRun    // the run in progress, if any
}

// Host runs scripts, one main script at a time, one after another; call
// Close when done with it. Several Hosts work side by side in one program,
// each with its own processes (named Process-1, PoolWorker-1... each).
type Host struct {
	out      *output
	chunks   *vm.Chunks
	procs    table
	children *supervisor       // the OS processes that run the processes
	objects  *objects.Registry // every shared object of the run
	values   *slots.Slots      // the numbers of Values, shared with children; nil if none
	progress bool
	printErr bool // Options.PrintErrors

	spawning    sync.WaitGroup // spawns in progress, which stop waits for
	poolWorkers atomic.Int64   // numbers this Host's pool workers, for their names

	mu          sync.Mutex
	pools       []*hostPool // pools whose owner is alive
	closed      bool        // no process starts from here on
	closeOnce   sync.Once
	globals     map[string]any
	timeout     time.Duration
	pluginDirs  []string
	plugins     *pluginhost.Set // the plugins of the run in progress
	packagePath string          // the main script's package.path, for children
	cluster     hostCluster
}

// New returns a Host.
func New(opts Options) *Host {
	if child.IsWorker() && !serving.Load() {
		notServed()
	}
	started.Store(true)
	h := &Host{
		out: &output{
			stdout: orDefault(opts.Stdout, os.Stdout),
			stderr: orDefault(opts.Stderr, os.Stderr),
			prefix: opts.Prefix,
		},
		chunks:     vm.NewChunks(nil),
		objects:    objects.NewRegistry(),
		progress:   opts.Progress,
		printErr:   opts.PrintErrors,
		globals:    opts.Globals,
		timeout:    opts.Timeout,
		pluginDirs: opts.PluginDirs,
		cluster:    hostCluster{url: opts.Cluster, creds: opts.ClusterCreds, idleAfter: opts.ClusterIdleAfter},
	}
	h.objects.OnDrop(h.dropCarried)
	h.objects.OnFree(h.freed)
	command := workerCommand()
	if len(opts.Worker) > 0 {
		command = append(append([]string(nil), opts.Worker...), child.WorkerArg)
	}
	// Without the shared memory (a system without memfd), Values keep their
	// numbers in the host's objects, and every get or add is a call. Values
	// point into the memory, so it is
	// unmapped only when the Host is no longer reachable.
	if values, err := slots.New(); err == nil {
		h.values = values
		runtime.AddCleanup(h, func(v *slots.Slots) { v.Close() }, values)
		// The main script takes and gives locks in the memory too, in a
		// seat of its own.
		h.objects.UseMemory(values)
		if seat, err := values.TakeSeat(); err == nil {
			h.objects.SetSeat(objects.MainScript, seat)
		}
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

// Self implements vm.Runtime: the host runs the main process.
func (h mainRuntime) Self() vm.ProcessInfo {
	return vm.ProcessInfo{Name: "MainProcess", Pid: os.Getpid()}
}

// Parent implements vm.Runtime: the main process has none.
func (h mainRuntime) Parent() (vm.ProcessInfo, bool) { return vm.ProcessInfo{}, false }

// Spawn implements vm.Runtime for the main script.
func (h mainRuntime) Spawn(ctx context.Context, req vm.SpawnRequest) (vm.ProcessStatus, error) {
	return h.spawn(ctx, nil, req)
}

// Wait implements vm.Runtime.
func (h mainRuntime) Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (vm.ProcessStatus, error) {
	return h.procs.wait(ctx, id, timeout, forever)
}

// Status implements vm.Runtime.
func (h mainRuntime) Status(id uint64) (vm.ProcessStatus, error) {
	p, err := h.procs.get(id)
	if err != nil {
		return vm.ProcessStatus{}, err
	}
	return p.status(), nil
}

// Signal implements vm.Runtime.
func (h mainRuntime) Signal(id uint64, sig syscall.Signal) error { return h.procs.signal(id, sig) }

// Release implements vm.Runtime.
func (h mainRuntime) Release(id uint64) error { return h.procs.release(id) }

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
	return h.spawnFor(ctx, parent, req, nil, nil)
}

// startKinds are the wire's names of the kinds of start.
var startKinds = map[vm.StartKind]pb.StartKind{
	vm.StartProcess:    pb.StartKind_START_PROCESS,
	vm.StartPoolWorker: pb.StartKind_START_POOL_WORKER,
}

// spawnFor is spawn, for a process that is a pool worker of pool when pool
// is not nil: the pool learns of its end; link, when not nil, is the
// cluster run the pool works for.
func (h *Host) spawnFor(ctx context.Context, parent *process, req vm.SpawnRequest, pool *objects.Pool, link *runLink) (vm.ProcessStatus, error) {
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
	p := &process{name: req.Name, identity: req.Identity, daemon: req.Daemon, pid: c.pid, childProc: c, pool: pool, link: link, done: make(chan struct{})}
	parentInfo := mainRuntime{h}.Self()
	if parent != nil {
		p.parent = parent.id
		parentInfo = vm.ProcessInfo{Name: parent.name, Pid: parent.pid}
	}
	h.procs.add(p)
	h.deliverCarried(objects.Owner(p.id), req.Payload, pool == nil)
	h.mu.Lock()
	packagePath := h.packagePath
	h.mu.Unlock()
	h.objects.SetSeat(objects.Owner(p.id), c.seat) // its calls act in its child's seat
	c.mu.Lock()
	c.current, c.signalled = p, false
	c.mu.Unlock()
	_, err = c.rpc.Start(ctx, &pb.StartRequest{
		Id: p.id, Name: p.name, Identity: p.identity, Kind: startKinds[req.Kind], Payload: req.Payload,
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
	// The child runs p no more: what letting go of p's holdings ends (the last hold of its
	// pool ends the pool, whose Terminate kills its workers) must not signal the child,
	// which is kept for the next process.
	c.mu.Lock()
	c.current = nil
	c.mu.Unlock()
	h.objects.Died(objects.Owner(p.id))
	h.ownerDied(objects.Owner(p.id))
	if p.pool != nil {
		p.pool.WorkerExited(objects.Owner(p.id), exitText(p, code))
	}
	c.mu.Lock()
	p.exitCode = code
	close(p.done)
	c.mu.Unlock()
	if daemons := h.procs.list(func(q *process) bool { return q.parent == p.id && q.daemon && !q.ended() }); len(daemons) > 0 {
		go vm.EndProcesses(context.Background(), mainRuntime{h}, ids(daemons))
	}
	if p.pool != nil {
		h.procs.remove(p.id) // only its pool knew it, and the pool is told
	}
	return p.pool == nil || !p.pool.RetiresWorkers()
}

// Close ends whatever the Host still runs (SIGTERM, then SIGKILL after a
// short grace), waits until every child it started is reaped, and removes
// the run's socket folder. No process starts afterwards. It does not wait
// for non-daemon processes to end by themselves: RunFile and RunString did
// that. It may be called more than once; every call returns once all is
// gone.
func (h *Host) Close() error {
	h.closeOnce.Do(func() { h.stop() })
	return nil
}

// stop ends every process still running and releases the Host; it returns
// how many processes it had to end.
func (h *Host) stop() int {
	h.mu.Lock()
	h.closed = true // no new processes from here on
	h.mu.Unlock()
	h.children.stopStarting()
	h.spawning.Wait()
	n := h.endAll()
	for _, p := range h.procs.list(func(*process) bool { return true }) {
		<-p.done
	}
	h.endPlugins()
	h.mu.Lock()
	if h.cluster.conn != nil {
		h.cluster.conn.Close()
		h.cluster.conn = nil
	}
	h.mu.Unlock()
	h.children.close()
	h.objects.Release()
	if h.values != nil {
		h.values.CloseFile() // no child will start; Values still use the mapping
	}
	return n
}

// mainRuntime is the main script's side of the vm.Runtime seam: the Host
// itself, called in-process with no RPC. Children reach the same
// operations through the Host service (service.go).
type mainRuntime struct{ *Host }
