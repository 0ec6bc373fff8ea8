package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/mphost/mphost/cluster"
	"github.com/mphost/mphost/host"
)

// The usage lines of the cluster commands.
const (
	clusterServeUsage  = "mphost cluster serve [--listen HOST:PORT] [--store DIR] [--token TOKEN]"
	clusterWorkerUsage = "mphost cluster worker URL [--processes N] [--creds FILE]"
)

// serveFlags and workerFlags name the flags of each cluster command; clusterFlags has both.
var (
	serveFlags  = []string{"listen", "store", "token"}
	workerFlags = []string{"processes", "creds"}
)

// clusterFlags are the flags of mphost cluster serve and mphost cluster worker.
func clusterFlags() *pflag.FlagSet {
	fs := noFlags()
	fs.String("listen", cluster.DefaultListen, "serve: listen on `HOST:PORT` (port 0 picks a free one)")
	fs.String("store", "", "serve: keep JetStream's files in `DIR` (default: $XDG_STATE_HOME/mphost/cluster when XDG_STATE_HOME is set, else a new temporary folder removed at exit)")
	fs.String("token", "", "serve: the `TOKEN` clients must give (default: a random one)")
	fs.Int("processes", runtime.NumCPU(), "worker: run `N` tasks at once")
	fs.String("creds", "", "worker: connect with the NATS credentials `FILE`")
	return fs
}

// clusterCommand runs `mphost cluster serve` or `mphost cluster worker`.
func clusterCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	usage := func() int {
		fmt.Fprintf(stderr, "mphost cluster: usage: %s\n       %s\n", clusterServeUsage, clusterWorkerUsage)
		return exitUsage
	}
	changed := func(names []string) bool {
		for _, n := range names {
			if fs.Changed(n) {
				return true
			}
		}
		return false
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "serve" && !changed(workerFlags):
		return clusterServe(fs, stdout, stderr)
	case fs.NArg() == 2 && fs.Arg(0) == "worker" && !changed(serveFlags):
		return clusterWorker(fs, stderr)
	}
	return usage()
}

// clusterServe runs `mphost cluster serve`: the server runs until SIGINT or SIGTERM, then
// shuts down and the command exits 0.
func clusterServe(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
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

// clusterWorker runs `mphost cluster worker URL`: it runs tasks in --processes pool worker
// processes and logs each to stderr, until SIGINT or SIGTERM; then it takes no more, finishes
// the tasks in hand within AckWait (or at once on a second signal) and hands back the rest,
// ends its processes and exits 0.
func clusterWorker(fs *pflag.FlagSet, stderr io.Writer) int {
	processes, _ := fs.GetInt("processes")
	creds, _ := fs.GetString("creds")
	if processes < 1 {
		fmt.Fprintf(stderr, "mphost cluster worker: --processes %d: want at least 1\n", processes)
		return exitUsage
	}
	logger := log.New(stderr, "mphost cluster worker: ", log.LstdFlags)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	w, err := host.NewClusterWorker(context.Background(), fs.Arg(1), host.ClusterWorkerOptions{
		Processes: processes, Creds: creds, Logf: logger.Printf,
		Host: host.Options{Stdout: stderr, Stderr: stderr}})
	if err != nil {
		fmt.Fprintf(stderr, "mphost cluster worker: %v\n", err)
		return 1
	}
	defer w.Close()
	logger.Printf("taking tasks from %s with %d processes; stop with Ctrl-C", w.Where(), processes)
	ctx, handBack := context.WithCancel(context.Background())
	defer handBack()
	worked := make(chan error, 1)
	go func() { worked <- w.Work(ctx) }()
	select {
	case err = <-worked:
	case sig := <-signals:
		logger.Printf("%s: taking no more tasks; finishing those in hand", signalName(sig))
		w.Stop()
		select {
		case err = <-worked:
		case sig := <-signals:
			logger.Printf("%s: handing back the tasks in hand", signalName(sig))
			handBack()
			err = <-worked
		case <-time.After(cluster.AckWait):
			logger.Printf("handing back the tasks in hand, unfinished after %v", cluster.AckWait)
			handBack()
			err = <-worked
		}
	}
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}
	logger.Printf("stopped")
	return 0
}
