package pluginproto

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/internal/wire"
)

// ProtocolVersion is the version of the plugin protocol: the go-plugin
// application protocol, the Module service and the value codec together.
// It changes whenever a plugin built against one mphost could misread
// another; a plugin of another version is refused at its start.
const ProtocolVersion = 1

// Handshake is what mphost and a plugin must agree on before they talk.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "MPHOST_PLUGIN_COOKIE",
	MagicCookieValue: "6f0e3c1d-mphost-plugin",
}

// Frame kinds of a plugin's call socket (CallRequest, CallReply in frames
// of internal/wire).
const (
	FrameCall  byte = 'c'
	FrameReply byte = 'r'
)

// PluginName is the name under which a plugin's module is dispensed.
const PluginName = "module"

// ModulePlugin is the go-plugin plugin of a plugin process: served by the
// plugin with Module, dispensed by the host as a [ModuleClient].
type ModulePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Module ModuleServer // nil in the host
}

// GRPCServer registers the Module service in the plugin.
func (p *ModulePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Module == nil {
		return errors.New("mphost plugin: no module to serve")
	}
	RegisterModuleServer(s, p.Module)
	return nil
}

// GRPCClient returns the host's client of a plugin's Module service.
func (p *ModulePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewModuleClient(c), nil
}

// Plugins is the plugin set of a plugin serving srv, or of the host when
// srv is nil.
func Plugins(srv ModuleServer) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &ModulePlugin{Module: srv}}
}

// ServerOptions are the options of a plugin's gRPC server: the same message
// limits as between host and children, so that what the codec takes crosses.
func ServerOptions(opts []grpc.ServerOption) []grpc.ServerOption {
	return wire.ServerOptions(opts)
}

// DialOptions are the options of every connection to a plugin.
var DialOptions = wire.DialOptions
