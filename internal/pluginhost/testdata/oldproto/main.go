// Command oldproto is a plugin of another protocol version, for the tests:
// mphost must refuse it at start, naming both versions.
package main

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/mphost/mphost/internal/pluginproto"
)

func main() {
	handshake := pb.Handshake
	handshake.ProtocolVersion = 99
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         pb.Plugins(pb.UnimplementedModuleServer{}),
		GRPCServer:      func(opts []grpc.ServerOption) *grpc.Server { return grpc.NewServer(opts...) },
		Logger:          hclog.NewNullLogger(),
	})
}
