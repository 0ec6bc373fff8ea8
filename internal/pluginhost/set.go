package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/spawn"
)

// Options configure a [Set].
type Options struct {
	// Dirs are the folders given with --plugin-dir, searched first.
	Dirs []string
	// SocketDir gives the run's private folder for the plugins' sockets,
	// at the first start of a plugin; nil makes one, which Close removes.
	SocketDir func() (string, error)
	// Stderr receives the plugins' stderr and what their Lua prints, in
	// whole lines, each named: "[plugin hello pid 4242] text". nil means
	// os.Stderr.
	Stderr io.Writer
}

// Set is the plugins of one run: each started at its first use, one process
// per plugin, shared by every caller; started again at the next use after
// it ends. Its methods are safe for concurrent use.
type Set struct {
	path      []Folder
	stderr    io.Writer
	socketDir func() (string, error)

	forks spawn.Thread // the plugins are forked from it, and die with the host
	calls *Remote      // the host's own calls, with the set as its Host

	mu      sync.Mutex
	plugins map[string]*entry
	closed  bool
	ownDir  string // the socket folder the set made, if it made one
}

// entry holds one plugin's current process; its lock is held while the
// process starts, so that callers at once share one start.
type entry struct {
	mu      sync.Mutex
	inst    *instance
	endings map[int]string // how its earlier processes ended, by pid
}

// instance is one plugin process and the host's connection to it.
type instance struct {
	name, path string
	client     *plugin.Client
	runner     *spawn.Runner
	info       *pb.InfoReply
	lifeline   context.CancelFunc
	stderr     [3]*lineWriter // the process's stderr file; its os.Stdout and os.Stderr after go-plugin's Serve
}

// Bounds of a plugin's start and end: generous, for a loaded machine.
const (
	startTimeout = 20 * time.Second
	termTimeout  = 2 * time.Second // from SIGTERM to SIGKILL
	reapTimeout  = 5 * time.Second // from SIGKILL, or a broken connection, to the reaped process
	killTimeout  = 3 * time.Second // go-plugin's own cleanup of a client
)

// New makes the plugin set of a run. It starts nothing: a plugin starts at
// its first use.
func New(opts Options) *Set {
	s := &Set{path: SearchPath(opts.Dirs), stderr: opts.Stderr, socketDir: opts.SocketDir, plugins: make(map[string]*entry)}
	if s.stderr == nil {
		s.stderr = os.Stderr
	}
	if s.socketDir == nil {
		s.socketDir = s.makeDir
	}
	s.calls = NewRemote(s)
	return s
}

// makeDir makes the set's own socket folder on first use.
func (s *Set) makeDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ownDir == "" {
		dir, err := os.MkdirTemp("", "mphost-plugins-")
		if err != nil {
			return "", err
		}
		s.ownDir = dir
	}
	return s.ownDir, nil
}

// ErrClosed is the error of a use of a closed Set.
var ErrClosed = errors.New("the run's plugins are closed")

// get returns the running process of the plugin name, starting it when it
// has none or its last one ended.
func (s *Set) get(name string) (*instance, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	e := s.plugins[name]
	if e == nil {
		e = &entry{}
		s.plugins[name] = e
	}
	s.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inst != nil && !e.inst.ended() {
		return e.inst, nil
	}
	if e.inst != nil {
		if e.endings == nil {
			e.endings = make(map[int]string)
		}
		e.endings[e.inst.pid()] = e.inst.ending()
		e.inst.stop()
		e.inst = nil
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed { // Close ran while this start waited for the lock
		return nil, ErrClosed
	}
	inst, err := s.start(name)
	if err != nil {
		return nil, err
	}
	e.inst = inst
	return inst, nil
}

// Info starts the plugin name if it is not running and describes its
// module: version, functions, fields and Stubs.
func (s *Set) Info(name string) (*pb.InfoReply, error) {
	inst, err := s.get(name)
	if err != nil {
		return nil, err
	}
	return inst.info, nil
}

// Find reports whether the set has a plugin name, without starting it:
// nil, or a [*NotFoundError] that says where it looked.
func (s *Set) Find(name string) error {
	_, err := Find(s.path, name)
	return err
}

// Plugin is Info for a child process of the run ([Host]): the reply holds
// the address of the plugin's call socket.
func (s *Set) Plugin(_ context.Context, name string) (*pb.InfoReply, error) {
	return s.Info(name)
}

// PluginEnded says how the process pid of the plugin name ended, once it
// is reaped ([Host]); a process still there after its connection broke is
// killed first.
func (s *Set) PluginEnded(_ context.Context, name string, pid int64) (string, error) {
	s.mu.Lock()
	e := s.plugins[name]
	s.mu.Unlock()
	if e == nil {
		return "", fmt.Errorf("the run has no plugin %s", name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inst != nil && e.inst.pid() == int(pid) {
		return e.inst.ending(), nil
	}
	if ending, ok := e.endings[int(pid)]; ok {
		return ending, nil
	}
	return "", fmt.Errorf("plugin %s had no process %d", name, pid)
}

// Call calls function of the plugin name with encoded arguments, starting
// the plugin if it is not running, over the plugin's call socket as a
// child does ([Remote.Call]): when the plugin process ends before the
// reply, the error names the plugin and how it ended; when ctx ends first,
// the plugin cancels the call.
func (s *Set) Call(ctx context.Context, name, function string, args [][]byte) (*pb.CallReply, error) {
	return s.calls.Call(ctx, name, function, args)
}

// protocolRE finds the plugin's version in go-plugin's refusal of it;
// compiled on first use, not in every process's start.
var protocolRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Plugin version: (\d+)`) })

// start starts the plugin name and connects to it.
func (s *Set) start(name string) (*instance, error) {
	path, err := Find(s.path, name)
	if err != nil {
		return nil, err
	}
	if err := checkPin(path); err != nil {
		return nil, fmt.Errorf("plugin %s refused: %w", name, err)
	}
	dir, err := s.socketDir()
	if err != nil {
		return nil, fmt.Errorf("plugin %s: its socket folder: %w", name, err)
	}
	inst := &instance{name: name, path: path}
	for i := range inst.stderr {
		inst.stderr[i] = &lineWriter{out: s.stderr, name: name, pid: inst.pid}
	}
	inst.client = plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pb.Handshake,
		Plugins:          pb.Plugins(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           inst.stderr[0], // the file: a Go panic, output before Serve, Lua's print
		SyncStdout:       inst.stderr[1], // os.Stdout after Serve
		SyncStderr:       inst.stderr[2], // os.Stderr after Serve
		StartTimeout:     startTimeout,
		GRPCDialOptions:  pb.DialOptions,
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: dir},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			cmd.Path = path
			cmd.Args = []string{path}
			cmd.Stdin = nil                                                    // /dev/null: the script keeps stdin
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // the plugin removes its sockets, then dies
			r, err := spawn.NewRunner(cmd, &s.forks)
			inst.runner = r
			return r, err
		},
	})
	fail := func(err error) (*instance, error) {
		inst.stop()
		return nil, fmt.Errorf("plugin %s (%s) did not start: %w", name, path, err)
	}
	rpc, err := inst.client.Client()
	if err != nil {
		if m := protocolRE().FindStringSubmatch(err.Error()); m != nil {
			inst.stop()
			return nil, fmt.Errorf("plugin %s (%s) speaks plugin protocol %s, and this mphost speaks %d: rebuild the plugin against this mphost's plugins package",
				name, path, m[1], pb.ProtocolVersion)
		}
		return fail(err)
	}
	raw, err := rpc.Dispense(pb.PluginName)
	if err != nil {
		return fail(err)
	}
	client := raw.(pb.ModuleClient)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if inst.info, err = client.Info(ctx, &pb.Empty{}); err != nil {
		return fail(err)
	}
	if inst.info.Name != name {
		return fail(fmt.Errorf("its module is named %q, not %q", inst.info.Name, name))
	}
	lifeCtx, lifeCancel := context.WithCancel(context.Background())
	inst.lifeline = lifeCancel
	if _, err := client.Lifeline(lifeCtx, &pb.Empty{}); err != nil {
		return fail(err)
	}
	return inst, nil
}

func (inst *instance) pid() int {
	if inst.runner == nil {
		return 0
	}
	return inst.runner.Pid()
}

// ended reports whether the process has exited.
func (inst *instance) ended() bool {
	select {
	case <-inst.runner.Exited():
		return true
	default:
		return false
	}
}

// ending waits until the process is reaped and says how it ended. A
// process still there after its connection broke is killed first.
func (inst *instance) ending() string {
	if !exitOrKill(inst.runner, reapTimeout) {
		return "stopped answering and could not be reaped"
	}
	return inst.runner.Ending()
}

// exitOrKill waits up to grace for r's process to exit, then kills it and
// waits up to reapTimeout more; it reports whether the process was reaped.
func exitOrKill(r *spawn.Runner, grace time.Duration) bool {
	select {
	case <-r.Exited():
		return true
	case <-time.After(grace):
	}
	r.Kill(context.Background())
	select {
	case <-r.Exited():
		return true
	case <-time.After(reapTimeout):
		return false
	}
}

// stop ends the process, bounded: SIGTERM, then SIGKILL, then go-plugin's
// cleanup, which removes the process's socket folder.
func (inst *instance) stop() {
	if inst.lifeline != nil {
		inst.lifeline()
	}
	if r := inst.runner; r != nil && r.Pid() != 0 {
		r.Signal(syscall.SIGTERM)
		exitOrKill(r, termTimeout)
	}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		inst.client.Kill()
	}()
	select {
	case <-killed:
	case <-time.After(killTimeout):
	}
	for _, w := range inst.stderr {
		w.Flush()
	}
}

// Close ends every plugin process of the set, each within a bounded time,
// and removes the socket folder it made. It may be called twice.
func (s *Set) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.calls.Close()
	s.mu.Lock()
	entries := make([]*entry, 0, len(s.plugins))
	for _, e := range s.plugins {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Go(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.inst != nil {
				e.inst.stop()
				e.inst = nil
			}
		})
	}
	wg.Wait()
	s.forks.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ownDir != "" {
		return os.RemoveAll(s.ownDir)
	}
	return nil
}
