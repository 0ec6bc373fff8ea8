// Command linked is BenchmarkChildMemory's floor of a program built like an
// mphost child: it links gRPC, go-plugin and gopher-lua, serves gRPC on a
// unix socket and makes one Lua state with the standard libraries and the
// stack sizes mphost's VM asks for, then prints its pid and waits for a line
// on stdin.
package main

import (
	"net"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-plugin"
	lua "github.com/yuin/gopher-lua"
	"google.golang.org/grpc"

	"github.com/mphost/mphost/bench/memfloor"
)

// handshake is a go-plugin handshake, so that go-plugin is linked and its
// package initialised as in a child.
var handshake = plugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "K", MagicCookieValue: "V"}

func main() {
	dir, err := os.MkdirTemp("", "memfloor-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "grpc.sock"))
	if err != nil {
		panic(err)
	}
	server := grpc.NewServer()
	go server.Serve(ln)
	defer server.Stop()

	// The sizes of internal/vm's lua.Options.
	L := lua.NewState(lua.Options{
		CallStackSize:       20000,
		RegistrySize:        1024,
		RegistryMaxSize:     1024 * 1024 * 16,
		RegistryGrowStep:    4096,
		MinimizeStackMemory: true,
	})
	defer L.Close()
	if err := L.DoString(`x = 1`); err != nil {
		panic(err)
	}
	_ = handshake.MagicCookieKey
	memfloor.Idle()
}
