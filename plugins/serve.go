package plugins

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	lua "github.com/yuin/gopher-lua"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/internal/pluginproto"
)

// Module describes the one Lua module a plugin gives scripts.
type Module struct {
	// Name is the module's name, what scripts require; the plugin's
	// executable is named mphost-plugin-NAME.
	Name string
	// Version is the module's own version, shown by `mphost plugins`.
	Version string
	// Loader builds the module's table and pushes it, as a loader given to
	// gopher-lua's PreloadModule does. It runs once in each Lua state of
	// the plugin's pool.
	Loader lua.LGFunction
	// Stubs is a lua-language-server definition file for the module
	// (---@meta, then one annotated declaration per function).
	Stubs string
}

// exitHostGone is the exit status of a plugin whose mphost has gone.
const exitHostGone = 70

// Serve serves m to the mphost that started this process, and never
// returns: the process exits when mphost ends it or is gone. Call it first
// in main. Run by hand, outside mphost, it says it is a plugin and exits
// with status 1; a Module without Name or Loader also exits with status 1.
func Serve(m Module) {
	if m.Name == "" || m.Loader == nil {
		fmt.Fprintln(os.Stderr, "mphost plugin: plugins.Serve needs a Module with a Name and a Loader")
		os.Exit(1)
	}
	// Ctrl-C reaches the whole process group; mphost decides when its
	// plugins end.
	signal.Ignore(syscall.SIGINT)
	srv, err := newServer(m, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mphost plugin %s: %v\n", m.Name, err)
		os.Exit(1)
	}
	calls, err := listenCalls()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mphost plugin %s: the call socket: %v\n", m.Name, err)
		os.Exit(1)
	}
	if calls != nil {
		srv.info.CallsAddr = calls.Addr().String()
		go srv.serveCalls(calls)
	}
	go watchParent(os.Getppid())
	go endOnTerm()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginproto.Handshake,
		Plugins:         pluginproto.Plugins(srv),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(pluginproto.ServerOptions(opts)...)
		},
		Logger: hclog.NewNullLogger(),
	})
	hostGone()
}

// hostGone ends a plugin whose mphost has gone.
func hostGone() {
	removeSockets()
	os.Exit(exitHostGone)
}

// removeSockets removes the plugin's socket folder, and the folder above it
// when that is then empty: an mphost killed with SIGKILL cannot.
func removeSockets() {
	if dir := os.Getenv(plugin.EnvUnixSocketDir); dir != "" {
		os.RemoveAll(dir)
		os.Remove(filepath.Dir(dir))
	}
}

// endOnTerm ends the plugin at SIGTERM, which mphost sends to end it and
// asks Linux to send when mphost dies: it removes the sockets, then dies of
// the signal.
func endOnTerm() {
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	<-terms
	removeSockets()
	signal.Reset(syscall.SIGTERM)
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
}

// watchParent ends the plugin when mphost is gone, should the lifeline and
// the death signal mphost asks for both miss it.
func watchParent(ppid int) {
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != ppid {
			hostGone()
		}
	}
}
