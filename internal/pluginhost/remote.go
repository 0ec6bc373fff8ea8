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

// Remote is a child process's way to the plugins of its run: it asks the
// host for each plugin (which starts it if needed) and calls it over a
// connection of its own to the plugin's call socket. It is a [Caller] for
// [Open] and [Finder]. It serves one VM, whose goroutine calls it.
type Remote struct {
	host Host

	mu      sync.Mutex
	plugins map[string]*reached
}

// reached is a plugin process that a Remote called.
type reached struct {
	info *pb.InfoReply
	conn *SocketConn // nil until the first call
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

// CallFunc calls function of the plugin name with the VM's context. When
// the plugin's process ends during the call, the error names the plugin
// and says how it ended (the host is asked); the next call reaches the
// process the host starts again.
func (r *Remote) CallFunc(v *vm.VM, name, function string, args [][]byte) (*pb.CallReply, error) {
	ctx := v.Context()
	for retried := false; ; retried = true {
		p, err := r.reach(ctx, name)
		if err != nil {
			return nil, err
		}
		if p.conn == nil {
			p.conn, err = DialSocket(p.info.CallsAddr)
			if err != nil {
				err = fmt.Errorf("%w: %w", errNotSent, err)
			}
		}
		var reply *pb.CallReply
		if err == nil {
			reply, err = p.conn.Call(ctx, function, args)
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

// forget drops a plugin process whose connection broke.
func (r *Remote) forget(name string, p *reached) {
	r.mu.Lock()
	if r.plugins[name] == p {
		delete(r.plugins, name)
	}
	r.mu.Unlock()
	if p.conn != nil {
		p.conn.Close()
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

// Close closes the connections.
func (r *Remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, p := range r.plugins {
		if p.conn != nil {
			p.conn.Close()
		}
		delete(r.plugins, name)
	}
	return nil
}
