package child

import (
	"context"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/mphost/mphost/internal/proto"
)

// WorkerArg is the last argument of a child's command line: it puts the
// binary in worker mode. A test binary's children get one flag before it
// (-test.run=^$, so that a binary with no TestMain runs no test).
const WorkerArg = "__mphost_worker__"

// IsWorker reports whether this process was started as a child worker.
func IsWorker() bool {
	n := len(os.Args)
	return (n == 2 || n == 3) && os.Args[n-1] == WorkerArg
}

// Handshake is what host and child must agree on before they talk.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "MPHOST_WORKER_COOKIE",
	MagicCookieValue: "d1b7c8a2-mphost-worker",
}

// PluginName is the name under which the worker plugin is dispensed.
const PluginName = "worker"

// Plugins is the plugin set of host and child.
var Plugins = map[string]plugin.Plugin{PluginName: &WorkerPlugin{}}

// WorkerPlugin is the go-plugin plugin of a child process: served by the
// child, dispensed by the host as a [*WorkerClient].
type WorkerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

// GRPCServer registers the worker service in the child.
func (WorkerPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterWorkerServer(s, &worker{broker: broker})
	return nil
}

// GRPCClient returns the host's handle on a child.
func (WorkerPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &WorkerClient{WorkerClient: pb.NewWorkerClient(c), Broker: broker}, nil
}

// WorkerClient is the host's handle on one child: its worker service, and
// the broker on which the host serves the child's calls.
type WorkerClient struct {
	pb.WorkerClient
	Broker *plugin.GRPCBroker
}
