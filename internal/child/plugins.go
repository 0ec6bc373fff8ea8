package child

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	pluginpb "github.com/mphost/mphost/internal/pluginproto"
	pb "github.com/mphost/mphost/internal/proto"
)

// hostPlugins asks the host about the run's plugins (pluginhost.Host): the
// host starts a plugin when a child first needs it, and the child calls it
// over a connection of its own.
type hostPlugins struct{ host pb.HostClient }

// Plugin asks the host for the plugin name and how to reach it.
func (h hostPlugins) Plugin(ctx context.Context, name string) (*pluginpb.InfoReply, error) {
	reply, err := h.host.Plugin(ctx, &pb.PluginRequest{Name: name})
	if err != nil {
		return nil, remoteError(err)
	}
	if reply.Error != "" {
		return nil, errors.New(reply.Error)
	}
	info := &pluginpb.InfoReply{}
	if err := proto.Unmarshal(reply.Info, info); err != nil {
		return nil, err
	}
	return info, nil
}

// PluginEnded asks the host how the plugin process pid ended.
func (h hostPlugins) PluginEnded(ctx context.Context, name string, pid int64) (string, error) {
	reply, err := h.host.PluginEnded(ctx, &pb.PluginRequest{Name: name, Pid: pid})
	if err != nil {
		return "", remoteError(err)
	}
	if reply.Error != "" {
		return "", errors.New(reply.Error)
	}
	return reply.Ending, nil
}
