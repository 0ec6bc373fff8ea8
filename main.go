// Command mphost runs Lua scripts with Python-style multiprocessing.
//
//	mphost FILE [ARGS...]                  run a script, as mphost run FILE does
//	mphost run [flags] FILE [ARGS...]      run a script ("-" reads it from stdin)
//	mphost run [flags] -e CODE [ARGS...]   run CODE as the main script
//	mphost check FILE...                   compile scripts without running them
//	mphost plugins [--plugin-dir DIR]...   list the plugins found, and whether they fit
//	mphost stubs [--plugin-dir DIR]... DIR write editor definitions for mp and the plugins
//	mphost cluster serve [flags]           serve a NATS JetStream server for a cluster
//	mphost cluster worker URL [flags]      join a cluster and take its tasks
//	mphost version                         print the version (also -V, --version)
//	mphost help [COMMAND]                  show help
//
// A first argument that is not a command name but names a file runs that
// file, as lua and python3 do; a command name wins over a file of the same
// name.
//
// Exit status: 0 on success; 1 on an uncaught error or a syntax error; n
// after os.exit(n); 2 for a usage error (unknown command, flag or file).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/mphost/mphost/host"
)

// version is the mphost release; the build can override it with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// exitUsage is the status of a command-line mistake.
const exitUsage = 2

func main() {
	host.ServeChild()
	host.TuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand of the CLI.
type command struct {
	name, args, summary string
	flags               func() *pflag.FlagSet
	run                 func(fs *pflag.FlagSet, stdout, stderr io.Writer) int
	more                []synopsis // further forms of the command
}

// synopsis is one more form of a command: its arguments and what it does.
type synopsis struct{ args, summary string }

func commands() []command {
	return []command{
		{"run", "[flags] FILE [ARGS...]", "run a Lua script; FILE - reads it from stdin", runFlags, runCommand,
			[]synopsis{{"[flags] -e CODE [ARGS...]", "run CODE as the main script"}}},
		{"check", "FILE...", "compile scripts without running them", noFlags, checkCommand, nil},
		{"plugins", "[flags]", "list the plugins a run finds: name, version, path, and whether this mphost can use them", pluginFlags, pluginsCommand, nil},
		{"stubs", "[flags] DIR", "write lua-language-server definitions (---@meta) for mp and for every plugin found into DIR", pluginFlags, stubsCommand, nil},
		{"cluster", "serve [flags]", "run a NATS server with JetStream for a cluster in this process, print its URL (with its token) as the first line, and run until SIGINT or SIGTERM", clusterFlags, clusterCommand, []synopsis{{"worker URL [flags]", "join the cluster at URL: run its tasks, --processes at once, until SIGINT or SIGTERM"}}},
		{"version", "", "print the version (also mphost -V, mphost --version)", noFlags, versionCommand, nil},
		{"help", "[COMMAND]", "show help for mphost or a command", noFlags, nil, nil},
	}
}

// commandLineChunk is the chunk name of the code given to run -e, the name
// lua gives the code of its -e.
const commandLineChunk = "(command line)"

func noFlags() *pflag.FlagSet { return pflag.NewFlagSet("", pflag.ContinueOnError) }

func runFlags() *pflag.FlagSet {
	fs := noFlags()
	fs.SetInterspersed(false) // flags after FILE belong to the script
	fs.Bool("prefix", false, "put [name pid] before each line a child process prints")
	fs.Duration("timeout", 0, "end the whole run after this long (e.g. 30s, 5m); exit status 124")
	fs.Bool("progress", false, "draw a progress bar on stderr for pool work (when stderr is a terminal)")
	fs.String("memory-limit", "", "bound the memory of every child process (e.g. 512MB, 1GB); over it, it ends with exitcode -9")
	addPluginDir(fs)
	fs.String("cluster", "", "send the tasks of every Pool to the workers of the cluster at `URL` (nats://TOKEN@HOST:PORT; default: $MPHOST_CLUSTER)")
	fs.String("cluster-creds", "", "connect to the cluster with the NATS credentials `FILE`")
	fs.StringP("execute", "e", "", "run `CODE` as the main script, named "+commandLineChunk+" in errors; every argument after it is the script's")
	return fs
}

// run is main without os.Exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help":
		usage(stdout)
		return 0
	case "-V", "--version":
		return versionCommand(nil, stdout, stderr)
	case "help":
		return helpCommand(args[1:], stdout, stderr)
	}
	cmd, ok := findCommand(name)
	switch {
	case ok:
	case isScriptFile(name):
		// "--" keeps a script named like a flag from being parsed as one.
		return run(append([]string{"run", "--"}, args...), stdout, stderr)
	case strings.HasPrefix(name, "-"):
		fmt.Fprintf(stderr, "mphost: unknown flag %q (try 'mphost help')\n", name)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "mphost: %q is neither a command nor a script file (try 'mphost help')\n", name)
		return exitUsage
	}
	fs := cmd.flags()
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			commandUsage(stdout, cmd, fs)
			return 0
		}
		fmt.Fprintf(stderr, "mphost %s: %v\n", cmd.name, err)
		return exitUsage
	}
	return cmd.run(fs, stdout, stderr)
}

// isScriptFile reports whether a first argument that is no command names a
// script to run: "-" (standard input) or a file that is not a folder.
func isScriptFile(name string) bool {
	if name == "-" {
		return true
	}
	info, err := os.Stat(name)
	return err == nil && !info.IsDir()
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mphost runs Lua scripts with Python-style multiprocessing.")
	fmt.Fprintln(w, "\nUsage:")
	line := func(cmd, args, summary string) {
		fmt.Fprintf(w, "  %-38s %s\n", strings.TrimSpace("mphost "+cmd+" "+args), summary)
	}
	line("FILE", "[ARGS...]", "run a Lua script, as mphost run FILE does")
	for _, c := range commands() {
		line(c.name, c.args, c.summary)
		for _, more := range c.more {
			line(c.name, more.args, more.summary)
		}
	}
	fmt.Fprintln(w, "\nEvery command takes -h/--help. A command name wins over a file of the same name.")
}

func commandUsage(w io.Writer, cmd command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: mphost %s %s\n", cmd.name, cmd.args)
	for _, more := range cmd.more {
		fmt.Fprintf(w, "       mphost %s %s  (%s)\n", cmd.name, more.args, more.summary)
	}
	fmt.Fprintf(w, "\n%s.\n", cmd.summary)
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
}

func helpCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	cmd, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "mphost help: unknown command %q\n", args[0])
		return exitUsage
	}
	commandUsage(stdout, cmd, cmd.flags())
	return 0
}

// Exit statuses of a run that was ended from outside.
const (
	exitInterrupt = 130 // SIGINT, as a shell reports it
	exitTerminate = 143 // SIGTERM
	exitTimeout   = 124 // --timeout, as timeout(1) reports it
)

func runCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if !fs.Changed("execute") && fs.NArg() == 0 {
		fmt.Fprintln(stderr, "mphost run: no script given (usage: mphost run [flags] FILE [ARGS...])")
		return exitUsage
	}
	prefix, _ := fs.GetBool("prefix")
	timeout, _ := fs.GetDuration("timeout")
	progress, _ := fs.GetBool("progress")
	pluginDirs, _ := fs.GetStringArray("plugin-dir")
	clusterURL, _ := fs.GetString("cluster")
	if !fs.Changed("cluster") {
		clusterURL = os.Getenv("MPHOST_CLUSTER")
	}
	clusterCreds, _ := fs.GetString("cluster-creds")
	var memoryLimit int64
	if size, _ := fs.GetString("memory-limit"); size != "" {
		var err error
		if memoryLimit, err = host.ParseSize(size); err != nil {
			fmt.Fprintf(stderr, "mphost run: --memory-limit: %v\n", err)
			return exitUsage
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	var caught atomic.Value // the signal that ended the run
	go func() {
		if sig, ok := <-signals; ok {
			caught.Store(sig)
			cancel()
		}
	}()

	h := host.New(host.Options{Stdout: stdout, Stderr: stderr, Prefix: prefix, Progress: progress,
		MemoryLimit: memoryLimit, Timeout: timeout, PluginDirs: pluginDirs, PrintErrors: true,
		Cluster: clusterURL, ClusterCreds: clusterCreds})
	defer h.Close()
	var err error
	if fs.Changed("execute") {
		code, _ := fs.GetString("execute")
		_, err = h.RunString(ctx, commandLineChunk, code, fs.Args()...)
	} else {
		path := fs.Arg(0)
		_, err = h.RunFile(ctx, path, fs.Args()[1:]...)
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			fmt.Fprintf(stderr, "mphost run: cannot read %s: %v\n", path, pathErr.Err)
			return exitUsage
		}
	}
	var stopped *host.StoppedError
	if !errors.As(err, &stopped) {
		return reportScriptError(err, stderr)
	}
	h.Close() // every child reaped before the summary line
	reason, status := "timed out after "+timeout.String(), exitTimeout
	if sig, ok := caught.Load().(os.Signal); ok {
		reason, status = "interrupted by "+signalName(sig), exitInterrupt
		if sig == syscall.SIGTERM {
			status = exitTerminate
		}
	}
	fmt.Fprintf(stderr, "mphost: %s; stopped %d running process(es)\n", reason, stopped.Processes)
	return status
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// reportScriptError prints what ended a script and returns the exit status;
// the host printed an uncaught Lua error already (Options.PrintErrors).
func reportScriptError(err error, stderr io.Writer) int {
	var exit *host.ExitError
	var luaErr *host.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.As(err, &luaErr):
		return 1
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

func checkCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "mphost check: no files given (usage: mphost check FILE...)")
		return exitUsage
	}
	status := 0
	for _, path := range fs.Args() {
		var pathErr *os.PathError
		switch err := host.Check(path); {
		case errors.As(err, &pathErr):
			fmt.Fprintf(stderr, "mphost check: cannot read %s: %v\n", path, pathErr.Err)
			status = max(status, exitUsage)
		case err != nil:
			fmt.Fprintln(stderr, err)
			status = max(status, 1)
		}
	}
	return status
}

func versionCommand(fs *pflag.FlagSet, stdout, stderr io.Writer) int {
	lua := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/yuin/gopher-lua" {
				lua = dep.Version
			}
		}
	}
	fmt.Fprintf(stdout, "mphost %s (%s, gopher-lua %s)\n", version, runtime.Version(), lua)
	return 0
}
