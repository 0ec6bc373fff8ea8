package child

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/internal/pluginhost"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
	"github.com/mphost/mphost/internal/wire"
)

// Exit statuses of a child that could not run its process.
const (
	exitHostGone = 70 // the lifeline to the host broke
	exitBadStart = 71 // the host's start request could not be used
)

// EnvOneCore names the environment variable with which the host says that
// it set GOMAXPROCS=1 in a child's environment, so that the Go runtime
// starts with one P: a child runs one VM on one goroutine.
const EnvOneCore = "MPHOST_ONE_CORE"

// ServeChild is the main function of a child process. It never returns:
// the child exits when its process ends or the host goes away.
func ServeChild() {
	// Ctrl-C reaches the whole process group; the host decides what the
	// children do about it.
	signal.Ignore(syscall.SIGINT)
	// A child runs one Lua VM, on one goroutine: with a second P its
	// garbage collector would take time from the processes on the other
	// cores instead of from its own VM.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv(EnvOneCore) != "" {
		// The runtime has read it; the programs the script runs get the
		// host's environment, without it.
		os.Unsetenv("GOMAXPROCS")
		os.Unsetenv(EnvOneCore)
	}
	vm.TuneGC(vm.DefaultGCFloor)
	// The output pipe and the call socket are the host's: a program that
	// the script starts (os.execute, io.popen) does not get them.
	syscall.CloseOnExec(OutputFD)
	syscall.CloseOnExec(CallFD)
	emptyStdin()
	output = os.NewFile(OutputFD, "output")
	calls = NewCallClient(os.NewFile(CallFD, "calls"))
	values, _ = slots.Open(ValuesFD) // none: the numbers of Values stay in the host
	if seat = readSeat(); values == nil {
		seat = 0 // its locks stay in the host too
	}
	openFiles() // none: pipes go through the host
	go watchParent(os.Getppid())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         Plugins,
		GRPCServer:      func(opts []grpc.ServerOption) *grpc.Server { return grpc.NewServer(wire.ServerOptions(opts)...) },
		Logger:          hclog.NewNullLogger(),
	})
	hostGone()
}

// emptyStdin puts /dev/null on fd 0, whatever the child was started with:
// a child's io.read reads nothing, as in Python, and never takes the main
// script's input. gopher-lua's io.stdin reads fd 0.
func emptyStdin() {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return
	}
	defer null.Close()
	syscall.Dup3(int(null.Fd()), 0, 0)
}

// hostGone ends a child whose host has gone. A host killed with SIGKILL
// cannot remove its run's socket folder, so each child removes its own
// socket folder, and the last one out the run folder above it (os.Remove
// fails while it is not empty).
func hostGone() {
	if dir := os.Getenv("PLUGIN_UNIX_SOCKET_DIR"); dir != "" {
		os.RemoveAll(dir)
		os.Remove(filepath.Dir(dir))
	}
	os.Exit(exitHostGone)
}

// watchParent ends the child when the host is gone, should the lifeline
// and Pdeathsig both miss it. Once a second it also checks whether the
// child, idle, should give memory back (idleMemory).
func watchParent(ppid int) {
	idle := newIdleMemory()
	parent, second := time.Tick(250*time.Millisecond), time.Tick(time.Second)
	for {
		select {
		case <-parent:
			if os.Getppid() != ppid {
				hostGone()
			}
		case <-second:
			idle.check()
		}
	}
}

// worker is the Worker service of one child.
type worker struct {
	pb.UnimplementedWorkerServer
	broker *plugin.GRPCBroker

	mu   sync.Mutex
	host pb.HostClient
	busy bool            // runs a process now
	next <-chan prepared // the VM of the next process
}

// Init dials the host's connection for this child and holds its lifeline.
func (w *worker) Init(ctx context.Context, req *pb.InitRequest) (*pb.Empty, error) {
	conn, err := w.broker.DialWithOptions(req.HostBrokerId, wire.DialOptions...)
	if err != nil {
		return nil, fmt.Errorf("dialling the host: %w", err)
	}
	host := pb.NewHostClient(conn)
	lifeline, err := host.Lifeline(context.Background(), &pb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("opening the lifeline: %w", err)
	}
	go func() {
		lifeline.Recv() // returns only when the host is gone
		hostGone()
	}()
	w.mu.Lock()
	w.host = host
	w.next = prepare(host)
	w.mu.Unlock()
	return &pb.Empty{}, nil
}

// The child's output pipe, call socket, Values' memory and seat there,
// opened by ServeChild.
var (
	output *os.File
	calls  *CallClient
	values *slots.Slots
	seat   slots.Seat // this child's seat in values
)

// Start runs the process in the background and answers at once. When the
// process ends, the child writes its End frame and waits for the next one:
// the host reuses children, each process in a fresh VM, built while the
// child waits so that a start does not wait for it.
func (w *worker) Start(ctx context.Context, req *pb.StartRequest) (*pb.Empty, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.host == nil {
		return nil, errors.New("Start before Init")
	}
	if w.busy {
		return nil, errors.New("this child already runs a process")
	}
	w.busy = true
	next := w.next
	go func() {
		code := runProcess(<-next, req)
		w.mu.Lock()
		w.busy = false
		w.next = prepare(w.host)
		w.mu.Unlock()
		if err := WriteEnd(output, code); err != nil {
			hostGone()
		}
	}()
	return &pb.Empty{}, nil
}

// prepared is a VM built ahead of the process it will run.
type prepared struct {
	machine *vm.VM
	remote  *Remote
	plugins *pluginhost.Remote // the process's connections to plugins
	stderr  io.Writer
}

// prepare builds the next process's VM in the background.
func prepare(host pb.HostClient) <-chan prepared {
	ready := make(chan prepared, 1)
	go func() {
		stdout, stderr := NewFrameWriters(output)
		remote := &Remote{host: host, calls: calls, values: values, seat: seat}
		plugins := pluginhost.NewRemote(hostPlugins{host})
		machine := vm.New(vm.Options{Runtime: remote, Chunks: vm.NewChunks(remote), Stdout: stdout, Stderr: stderr,
			Modules:          pluginhost.Finder(plugins),
			StopsAtWaitsOnly: true}) // the host stops a child with signals
		ready <- prepared{machine, remote, plugins, stderr}
	}()
	return ready
}

// runProcess runs one process in a prepared VM and returns its exit status.
func runProcess(p prepared, req *pb.StartRequest) int {
	machine, remote, stderr := p.machine, p.remote, p.stderr
	remote.self = vm.ProcessInfo{Name: req.Name, Pid: os.Getpid(), Identity: req.Identity, ID: req.Id}
	remote.parent = vm.ProcessInfo{Name: req.ParentName, Pid: int(req.ParentPid)}
	defer machine.Close()
	defer p.plugins.Close()
	if req.PackagePath != "" {
		machine.SetPackagePath(req.PackagePath)
	}
	var watch *memoryWatch
	defer func() { watch.end() }() // once its children are waited for too
	kind := vm.StartProcess
	if req.Kind == pb.StartKind_START_POOL_WORKER {
		kind = vm.StartPoolWorker
	}
	err := machine.RunProcess(kind, req.Payload, func(limit int64) { watch = watchMemory(limit, req.Name, stderr) })
	var exit *vm.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.Code
	case err != nil:
		fmt.Fprintf(stderr, "Process %s (pid %d):\n%s\n", req.Name, os.Getpid(), vm.ErrorText(err))
		code = 1
		machine.Finish()
	default:
		machine.Finish()
	}
	err = remote.End()
	if err != nil {
		fmt.Fprintf(stderr, "Process %s (pid %d): %v\n", req.Name, os.Getpid(), err)
		code = max(code, 1)
	}
	return code
}
