package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/mphost/mphost/cluster"
)

// clusterFlags are the flags of mphost cluster serve.
func clusterFlags() *pflag.FlagSet {
	fs := noFlags()
	fs.String("listen", cluster.DefaultListen, "listen on `HOST:PORT` (port 0 picks a free one)")
	fs.String("store", "", "keep JetStream's files in `DIR` (default: $XDG_STATE_HOME/mphost/cluster when XDG_STATE_HOME is set, else a new temporary folder removed at exit)")
	fs.String("token", "", "the `TOKEN` clients must give (default: a random one)")
	return fs
}

// clusterCommand runs `mphost cluster serve`: the server runs until SIGINT or SIGTERM, then
// shuts down and the command exits 0.
func clusterCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if fs.NArg() != 1 || fs.Arg(0) != "serve" {
		fmt.Fprintln(stderr, "mphost cluster: usage: mphost cluster serve [--listen HOST:PORT] [--store DIR] [--token TOKEN]")
		return exitUsage
	}
	listen, _ := fs.GetString("listen")
	token, _ := fs.GetString("token")
	store, _ := fs.GetString("store")
	if store == "" {
		if state := os.Getenv("XDG_STATE_HOME"); state != "" {
			store = filepath.Join(state, "mphost", "cluster")
		} else {
			temp, err := os.MkdirTemp("", "mphost-cluster-")
			if err != nil {
				fmt.Fprintf(stderr, "mphost cluster serve: %v\n", err)
				return 1
			}
			defer os.RemoveAll(temp)
			store = temp
		}
	}
	if err := os.MkdirAll(store, 0o700); err != nil {
		fmt.Fprintf(stderr, "mphost cluster serve: %v\n", err)
		return 1
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: listen, StoreDir: store, Token: token})
	if err != nil {
		fmt.Fprintf(stderr, "mphost %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, srv.URL())
	fmt.Fprintf(stderr, "mphost cluster serve: storing in %s; stop with Ctrl-C\n", store)
	sig := <-signals
	srv.Shutdown()
	fmt.Fprintf(stderr, "mphost cluster serve: %s: stopped\n", signalName(sig))
	return 0
}
