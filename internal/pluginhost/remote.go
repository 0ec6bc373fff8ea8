package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// Host is what a child process asks its host about the run's plugins.
type Host interface {
	// Plugin starts the run's process of the plugin name if it is not
	// running, and describes it (its call socket included); the error of
	// a plugin not found says where the host looked.
	Plugin(ctx context.Context, name string) (*pb.InfoReply, error)
	// PluginEnded says how the process pid of the plugin name ended, once
	// it is reaped: "exited with status 3", "was killed by signal 9
	// (killed)".
	PluginEnded(ctx context.Context, name string, pid int64) (string, error)
}

// Remote reaches the plugins of a run for a process of it: it asks the
// host for each plugin (which starts it if needed) and calls it over
// connections of its own to the plugin's call socket, one per call at a
// time, kept for the next calls. A child process's VM uses one through
// the Host service; the host's [Set] uses one with itself as the Host, so
// that the main script's calls take the same way. It is a [Caller] for
// [Open] and [Finder]. Its methods are safe for concurrent use.
type Remote struct {
	host Host

	mu      sync.Mutex
	plugins map[string]*reached
	closed  bool
}

// reached is a plugin process that a Remote called.
type reached struct {
	info *pb.InfoReply
	idle []*SocketConn // connections between calls
}

// NewRemote returns a Remote that asks host.
func NewRemote(host Host) *Remote {
	return &Remote{host: host, plugins: make(map[string]*reached)}
}

// reach returns the plugin name as last asked of the host, asking when it
// has not been or its process ended.
func (r *Remote) reach(ctx context.Context, name string) (*reached, error) {
	r.mu.Lock()
	p := r.plugins[name]
	r.mu.Unlock()
	if p != nil {
		return p, nil
	}
	info, err := r.host.Plugin(ctx, name)
	if err != nil {
		return nil, err
	}
	if info.CallsAddr == "" {
		return nil, fmt.Errorf("plugin %s (pid %d) has no call socket", name, info.Pid)
	}
	p = &reached{info: info}
	r.mu.Lock()
	r.plugins[name] = p
	r.mu.Unlock()
	return p, nil
}

// Find asks the host for the plugin name.
func (r *Remote) Find(name string) error {
	_, err := r.reach(context.Background(), name)
	return err
}

// Info describes the plugin's module.
func (r *Remote) Info(name string) (*pb.InfoReply, error) {
	p, err := r.reach(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return p.info, nil
}

// CallFunc is Call with the VM's context: the call ends when the VM stops.
func (r *Remote) CallFunc(v *vm.VM, name, function string, args [][]byte) (*pb.CallReply, error) {
	return r.Call(v.Context(), name, function, args)
}

// Call calls function of the plugin name with encoded arguments. When the
// plugin's process ends during the call, the error names the plugin and
// says how it ended (the host is asked); a call the process never read
// goes to the process the host starts again, and so does the next call.
// When ctx ends first, the call's connection is closed, which cancels the
// call in the plugin.
func (r *Remote) Call(ctx context.Context, name, function string, args [][]byte) (*pb.CallReply, error) {
	for retried := false; ; retried = true {
		p, err := r.reach(ctx, name)
		if err != nil {
			return nil, err
		}
		var reply *pb.CallReply
		conn, err := r.take(p)
		if err == nil {
			reply, err = conn.Call(ctx, function, args)
			r.give(name, p, conn)
		}
		switch {
		case errors.Is(err, errNotSent) && !retried:
			// The process had ended before this call: once the host has
			// reaped it, the next ask starts it again.
			r.forget(name, p)
			r.host.PluginEnded(ctx, name, p.info.Pid)
		case errors.Is(err, errNotSent) || errors.Is(err, ErrBroken):
			r.forget(name, p)
			return nil, r.ended(ctx, p.info, function)
		default:
			return reply, err
		}
	}
}

// take returns a connection to p between calls, or dials one.
func (r *Remote) take(p *reached) (*SocketConn, error) {
	r.mu.Lock()
	if n := len(p.idle); n > 0 {
		conn := p.idle[n-1]
		p.idle = p.idle[:n-1]
		r.mu.Unlock()
		return conn, nil
	}
	r.mu.Unlock()
	conn, err := DialSocket(p.info.CallsAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	return conn, nil
}

// give keeps conn for the next call after a call that left it whole, and
// closes it otherwise.
func (r *Remote) give(name string, p *reached, conn *SocketConn) {
	r.mu.Lock()
	if conn.broken == nil && !r.closed && r.plugins[name] == p {
		p.idle = append(p.idle, conn)
		conn = nil
	}
	r.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// forget drops a plugin process whose connection broke.
func (r *Remote) forget(name string, p *reached) {
	r.mu.Lock()
	if r.plugins[name] == p {
		delete(r.plugins, name)
	}
	idle := p.idle
	p.idle = nil
	r.mu.Unlock()
	for _, conn := range idle {
		conn.Close()
	}
}

// ended is the error of a call that the end of the plugin's process broke.
func (r *Remote) ended(ctx context.Context, info *pb.InfoReply, function string) error {
	ending, err := r.host.PluginEnded(ctx, info.Name, info.Pid)
	if err != nil {
		ending = "ended"
	}
	return endedError(info.Name, int(info.Pid), ending, function)
}

// endedError is the error of a call to function of the plugin name whose
// process pid ended during the call.
func endedError(name string, pid int, ending, function string) error {
	return fmt.Errorf("plugin %s (pid %d) %s during the call of %s.%s", name, pid, ending, name, function)
}

// Close closes the connections; those of calls running close as the calls
// end.
func (r *Remote) Close() error {
	r.mu.Lock()
	r.closed = true
	ps := r.plugins
	r.plugins = make(map[string]*reached)
	r.mu.Unlock()
	for name, p := range ps {
		r.forget(name, p)
	}
	return nil
}
