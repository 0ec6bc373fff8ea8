// Package host runs mphost scripts and is the API for Go programs that embed
// mphost: a [Host] owns the main script's VM and, as later parts land, the
// process table and every shared object the script's processes use.
//
// The host is the in-process side of the script package's Runtime seam: the
// main script's `mp` builtins call the Host directly, with no RPC.
package host

import (
	"context"
	"io"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/script"
)

// Options configure a [Host]. The zero value writes to the process's own
// stdout and stderr.
type Options struct {
	Stdout, Stderr io.Writer
}

// Host runs scripts. One Host runs one main script at a time.
type Host struct {
	opts   Options
	chunks *script.Chunks
}

// New returns a Host.
func New(opts Options) *Host {
	return &Host{opts: opts, chunks: script.NewChunks(nil)}
}

// Chunks is the record of every chunk the host's scripts have loaded; it is
// the store children fetch closures' code from.
func (h *Host) Chunks() *script.Chunks { return h.chunks }

// RunFile runs the script at path ("-" reads standard input) with args in
// its global `arg` table. It returns nil when the script ends normally, an
// [*script.ExitError] after os.exit, an [*script.Error] for an uncaught
// error, a [*script.SyntaxError] when it does not compile, and the file's
// error when it cannot be read.
func (h *Host) RunFile(ctx context.Context, path string, args []string) error {
	c, err := script.ReadChunk(path)
	if err != nil {
		return err
	}
	return h.Run(ctx, c, args)
}

// Run runs a chunk as the main script, like RunFile.
func (h *Host) Run(ctx context.Context, c script.Chunk, args []string) error {
	vm := script.New(script.Options{
		Runtime: h,
		Chunks:  h.chunks,
		Stdout:  h.opts.Stdout,
		Stderr:  h.opts.Stderr,
		Context: ctx,
	})
	defer vm.Close()
	vm.SetArgs(c.Name, args)
	if c.Name != "stdin" {
		vm.AddPackagePath(filepath.Dir(c.Name))
	}
	luaArgs := make([]lua.LValue, len(args))
	for i, a := range args {
		luaArgs[i] = lua.LString(a)
	}
	return vm.Run(c, luaArgs...)
}

// Self implements script.Runtime: the host runs the main process.
func (h *Host) Self() script.ProcessInfo {
	return script.ProcessInfo{Name: "MainProcess", Pid: os.Getpid()}
}

// Parent implements script.Runtime: the main process has none.
func (h *Host) Parent() (script.ProcessInfo, bool) { return script.ProcessInfo{}, false }
