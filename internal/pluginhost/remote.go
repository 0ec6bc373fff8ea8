package pluginhost

import (
	"context"
	"errors"
	"fmt"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// Remote is a child process's way to a plugin process of its run: a
// connection of its own to the address the host's Set gave ([Set.Addr]).
// It is a [Caller] for [Open].
type Remote struct {
	conn *Conn
	info *pb.InfoReply
}

// DialRemote connects to the plugin process at addr and reads its module's
// description.
func DialRemote(ctx context.Context, network, addr string) (*Remote, error) {
	conn, err := Dial(network, addr)
	if err != nil {
		return nil, err
	}
	info, err := conn.Info(ctx)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reaching the plugin at %s: %w", addr, err)
	}
	return &Remote{conn: conn, info: info}, nil
}

// Info describes the plugin's module.
func (r *Remote) Info(name string) (*pb.InfoReply, error) {
	if r.info.Name != name {
		return nil, fmt.Errorf("the plugin process reached serves %s, not %s", r.info.Name, name)
	}
	return r.info, nil
}

// CallFunc calls function of the plugin with the VM's context.
func (r *Remote) CallFunc(v *vm.VM, name, function string, args [][]byte) (*pb.CallReply, error) {
	reply, err := r.conn.Call(v.Context(), function, args)
	if errors.Is(err, ErrBroken) {
		return nil, fmt.Errorf("plugin %s (pid %d) ended during the call of %s.%s", name, r.info.Pid, name, function)
	}
	return reply, err
}

// Close closes the connection.
func (r *Remote) Close() error { return r.conn.Close() }
