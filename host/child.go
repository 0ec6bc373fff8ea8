package host

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/internal/child"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/spawn"
	"github.com/mphost/mphost/internal/wire"
)

// child is one OS process that the supervisor started: the child command
// served by go-plugin. It runs one process at a time; when that process
// ends the child may run another, each in a fresh VM, so a start costs one
// call instead of a new OS process.
type childProc struct {
	client *plugin.Client      // go-plugin's, which started it
	rpc    *child.WorkerClient // the child's own gRPC service
	runner *spawn.Runner
	pid    int
	output *os.File   // the read end of the child's output pipe
	calls  *os.File   // the host's end of the child's call socket
	files  int        // the host's end of the socket that hands the child pipe ends' sockets
	seat   slots.Seat // its seat in the shared memory, for each process it runs; 0: none

	callsDone   chan struct{}      // closed when the call socket's server returns
	hostServer  *grpc.Server       // the child's Host service, over go-plugin's broker
	hostServed  chan struct{}      // closed when hostServer has stopped
	cancelCalls context.CancelFunc // ends the call the child is waiting on

	mu        sync.Mutex
	current   *process // the process it runs; nil when idle
	signalled bool     // a signal went to it while it ran current: it may be dying, not reused

	fd2 *childStderr // what the child writes on its own stderr
}

// running returns the process the child runs now.
func (c *childProc) running() *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current
}

// signal sends sig to the child if it still runs p.
func (c *childProc) signal(p *process, sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current != p {
		return nil // p has ended
	}
	if err := syscall.Kill(c.pid, sig); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("signalling %s (pid %d): %w", p.name, c.pid, err)
	}
	c.signalled = c.signalled || sig != 0
	return nil
}

// reusable reports whether the child, whose process has ended, may run another: not when a
// signal went to it while it ran that process, which may land after the process's end.
func (c *childProc) reusable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.signalled
}

// startTimeout bounds a child's start and handshake.
const startTimeout = 20 * time.Second

// killTimeout bounds go-plugin's Client.Kill, which can block on a stopped
// child; after it the child gets SIGKILL.
const killTimeout = 3 * time.Second

// newChild starts a child, completes the handshake, connects it to its own
// Host service (over gRPC, and over its call socket, served by a goroutine
// that endCalls stops), and starts the goroutine that serves its output
// (serveChild, which close waits for).
func (s *supervisor) newChild(ctx context.Context) (*childProc, error) {
	runDir, err := s.socketDir()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer outW.Close() // the child has its own copy once started
	calls, childCalls, err := socketPair()
	if err != nil {
		outR.Close()
		return nil, err
	}
	defer childCalls.Close()
	files, childFiles, err := filesSocket()
	if err != nil {
		outR.Close()
		calls.Close()
		return nil, err
	}
	defer childFiles.Close()
	c := &childProc{output: outR, calls: calls, files: files}
	if s.values != nil {
		c.seat, _ = s.values.TakeSeat() // none: its processes take locks through the host
	}
	c.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  child.Handshake,
		Plugins:          child.Plugins,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           c.stderr(s.out), // its fd 2: programs it runs, a crash report
		StartTimeout:     startTimeout,
		GRPCDialOptions:  wire.DialOptions,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: runDir},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			cmd.Path = s.command[0]
			cmd.Args = s.command
			cmd.Stdin = nil // /dev/null, as Python gives a child: the main script keeps stdin
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", child.EnvMemoryLimit, s.memory))
			if _, set := os.LookupEnv("GOMAXPROCS"); !set {
				// A child runs one VM on one goroutine; set before it starts,
				// the Go runtime makes no Ps, and no memory for them, that it
				// would drop at once. The child takes it out of its
				// environment again (child.EnvOneCore).
				cmd.Env = append(cmd.Env, "GOMAXPROCS=1", child.EnvOneCore+"=1")
			}
			// child.OutputFD, CallFD, ValuesFD, FilesFD
			cmd.ExtraFiles = []*os.File{outW, childCalls, nil, childFiles}
			if s.values != nil {
				cmd.ExtraFiles[2] = s.values.File()
			}
			if c.seat != 0 {
				cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", child.EnvSeat, c.seat))
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			r, err := spawn.NewRunner(cmd, &s.forks)
			c.runner = r
			return r, err
		},
	})
	fail := func(err error) (*childProc, error) {
		c.kill()
		s.vacate(c)
		outR.Close()
		calls.Close()
		syscall.Close(files)
		return nil, fmt.Errorf("starting a child process: %w", err)
	}
	rpc, err := c.client.Client()
	if err != nil {
		if ctx.Err() == nil && c.runner != nil && c.runner.Cmd.Process != nil {
			// The child started but did not answer as a child does.
			// go-plugin's own text goes on about plugins over many lines.
			said, _, _ := strings.Cut(err.Error(), "\n")
			err = fmt.Errorf("%s did not answer as an mphost child (%s): %s", c.runner.Cmd.Path, strings.TrimSpace(said), notServedHint)
		}
		return fail(err)
	}
	raw, err := rpc.Dispense(child.PluginName)
	if err != nil {
		return fail(err)
	}
	c.rpc = raw.(*child.WorkerClient)
	c.pid = c.runner.Cmd.Process.Pid

	id := c.rpc.Broker.NextId()
	svc := s.service(c)
	// The Host service is served on the connection the child dials back
	// through go-plugin's broker, until kill stops it and waits, so that its
	// socket is closed when a Host's Close returns. Not AcceptAndServe: it
	// logs to the standard logger, the host's stderr, when the child is
	// killed before it dials.
	c.hostServer = grpc.NewServer(wire.ServerOptions(nil)...)
	pb.RegisterHostServer(c.hostServer, svc)
	c.hostServed = make(chan struct{})
	go func() {
		defer close(c.hostServed)
		if ln, err := c.rpc.Broker.Accept(id); err == nil { // else the broker closed: the child is killed
			_ = c.hostServer.Serve(ln) // closes ln when stopped
		}
	}()
	callsCtx, cancelCalls := context.WithCancel(context.Background())
	c.callsDone, c.cancelCalls = make(chan struct{}), cancelCalls
	go func() {
		defer close(c.callsDone)
		child.ServeCalls(callsCtx, calls, svc)
	}()
	if _, err := c.rpc.Init(ctx, &pb.InitRequest{HostBrokerId: id}); err != nil {
		return fail(err)
	}
	s.serving.Add(1)
	go s.serveChild(c)
	return c, nil
}

// serveChild copies a child's output to the host's streams for the process
// it runs, ends each process at its End frame, and keeps the child for
// reuse. When the pipe ends the child is gone: the process it ran (if any)
// ends with the child's exit status.
func (s *supervisor) serveChild(c *childProc) {
	defer s.serving.Done()
	defer c.output.Close()
	r := bufio.NewReaderSize(c.output, 64<<10)
	ls := lines{o: s.out, host: s.out}
	var p *process
	for {
		stream, data, err := child.ReadFrame(r)
		if q := c.running(); q != p {
			p = q
			if p != nil {
				ls.begin(p.name, p.pid, p.link)
			}
		}
		if stream == child.End && err == nil {
			code, endErr := child.EndCode(data)
			if endErr == nil && p != nil {
				ls.end()
				if s.ended(c, p, code) && c.reusable() {
					s.recycle(c)
				} else {
					c.runner.Kill(context.Background())
				}
				p = nil
				continue
			}
			err = endErr
		}
		if len(data) > 0 && p != nil {
			ls.feed(stream, data)
		}
		if err != nil {
			break // the child is gone, or wrote garbage
		}
	}
	c.runner.Kill(context.Background())
	<-c.runner.Exited() // after go-plugin has read all of the child's stderr
	c.endCalls()
	if p = c.running(); p != nil {
		ls.end()
		code := c.runner.ExitCode()
		if report, ok := c.fd2.outOfMemory(); ok {
			code = child.ExitOutOfMemory
			s.out.write(child.Stderr, "", fmt.Appendf(nil, "Process %s (pid %d) ran out of memory: the system had no more for it (exitcode %d); the Go runtime's report is in %s\n",
				p.name, p.pid, code, report))
		}
		s.ended(c, p, code)
	}
	s.forget(c)
	c.kill()
	s.vacate(c)
}

// vacate gives the seat of a child that is gone back to the memory.
func (s *supervisor) vacate(c *childProc) {
	if c.seat != 0 {
		s.values.Vacate(c.seat)
		c.seat = 0
	}
}

// endCalls stops the call the child was waiting on, if any, and its call
// socket's server, and waits for it: so a lock it was waiting for is not
// granted after its holdings are released.
func (c *childProc) endCalls() {
	c.cancelCalls()
	syscall.Shutdown(int(c.calls.Fd()), syscall.SHUT_RDWR) // wakes a blocked read
	<-c.callsDone
	c.calls.Close()
	syscall.Close(c.files)
}

// filesSocket returns the two ends of a new socket that hands a child the
// sockets of the pipe ends it uses (see sendSocket): the host's descriptor
// and the child's file.
func filesSocket() (int, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("making a child's socket for files: %w", err)
	}
	return fds[0], os.NewFile(uintptr(fds[1]), "files"), nil
}

// sendSocket hands the child a duplicate of the socket fd of pipe end id,
// in a packet that names the end (the child takes it in receiveSocket, in
// internal/child/remote_pipes.go).
func (c *childProc) sendSocket(id uint64, fd int) error {
	return syscall.Sendmsg(c.files, binary.BigEndian.AppendUint64(nil, id), syscall.UnixRights(fd), nil, 0)
}

// socketPair returns the two ends of a new call socket, the host's and the
// child's. Both block: the host reads its end on a thread of its own, which
// answers a call sooner than the netpoller does (bench/README.md).
func socketPair() (*os.File, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("making a call socket: %w", err)
	}
	for _, fd := range fds {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
	}
	return os.NewFile(uintptr(fds[0]), "calls"), os.NewFile(uintptr(fds[1]), "calls"), nil
}

// kill ends the go-plugin client, with SIGKILL if Client.Kill hangs, and
// waits (within killTimeout) for the broker's Host service to stop.
func (c *childProc) kill() {
	done := make(chan struct{})
	go func() {
		c.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killTimeout):
		if c.runner != nil && c.runner.Cmd.Process != nil {
			c.runner.Cmd.Process.Kill()
		}
		<-done
	}
	if c.hostServed != nil {
		c.hostServer.Stop()
		select {
		case <-c.hostServed:
		case <-time.After(killTimeout):
		}
	}
}
