package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/pluginhost"
	"github.com/mphost/mphost/internal/vm"
	"github.com/mphost/mphost/script"
)

// RunFile runs the script at path ("-" reads standard input) as the main
// script, with args in its global `arg` table and as its `...`, and
// returns the values its chunk returns, converted as [script.FromLua]
// does. It fails with an [*ExitError] after os.exit(n) with n != 0, an
// [*Error] for an uncaught error, a [*SyntaxError] when the script does not
// compile, and the file's error when it cannot be read. As in Python, the
// script's non-daemon processes are waited for and its daemons terminated
// before it returns.
//
// When ctx is done, the run stops wherever the script is (running Lua, in a
// blocking mp call, or waiting for its processes), its processes are
// stopped, and the error satisfies errors.Is(err, ctx.Err()).
func (h *Host) RunFile(ctx context.Context, path string, args ...string) ([]any, error) {
	c, err := vm.ReadChunk(path)
	if err != nil {
		return nil, err
	}
	return h.run(ctx, c, args)
}

// RunString runs src as the main script, named name in errors and
// tracebacks, as RunFile runs a file.
func (h *Host) RunString(ctx context.Context, name, src string, args ...string) ([]any, error) {
	return h.run(ctx, vm.Chunk{Name: name, Source: src}, args)
}

// Text is an uncaught error as the script author reads it: its message,
// then its Lua traceback when it has one; other errors as they say.
func Text(err error) string { return vm.ErrorText(err) }

// ParseSize reads a memory size, as mphost run --memory-limit does: a number
// of bytes, or a number and a unit (K, KB, KiB, M, MB, MiB, G, GB, GiB, any
// case; each a power of 1024), as in "512MB" or "1.5 GB".
func ParseSize(s string) (int64, error) { return vm.ParseSize(s) }

// TuneGC sets this process's garbage collector for running Lua, as the
// mphost command does: the heap may grow to 64 MB before it is collected.
// It does nothing when the GOGC environment variable is set. Children tune
// their own.
func TuneGC() { vm.TuneGC(vm.DefaultGCFloor) }

// Check compiles the script at path without running it: nil, a
// [*SyntaxError], or the file's error.
func Check(path string) error {
	c, err := vm.ReadChunk(path)
	if err != nil {
		return err
	}
	_, err = vm.NewChunks(nil).Compile(c)
	return err
}

// run runs a chunk as the main script.
func (h *Host) run(ctx context.Context, c vm.Chunk, args []string) ([]any, error) {
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	plugins := h.startPlugins()
	defer h.endPlugins() // after the run's processes: deferred calls run last first
	v := vm.New(vm.Options{
		Runtime: mainRuntime{h},
		Chunks:  h.chunks,
		Stdout:  lockedWriter{h.out, h.out.stdout},
		Stderr:  lockedWriter{h.out, h.out.stderr},
		Context: ctx,
		Modules: pluginhost.Finder(plugins),
	})
	defer v.Close()
	endCluster, err := h.startCluster(ctx)
	if err != nil {
		return nil, err
	}
	defer endCluster() // before the VM closes: deferred calls run last first
	v.SetArgs(c.Name, args)
	if c.Name != "stdin" {
		v.AddPackagePath(filepath.Dir(c.Name))
	}
	for name, g := range h.globals {
		lv, err := script.ToLua(v.L, g)
		if err != nil {
			return nil, fmt.Errorf("Options.Globals[%q]: %w", name, err)
		}
		v.L.SetGlobal(name, lv)
	}
	h.mu.Lock()
	h.packagePath = v.PackagePath()
	h.mu.Unlock()
	luaArgs := make([]lua.LValue, len(args))
	for i, a := range args {
		luaArgs[i] = lua.LString(a)
	}
	var rets []lua.LValue
	var fn *lua.LFunction
	fn, err = v.Load(c)
	if err == nil {
		rets, err = v.Call(fn, luaArgs...)
	}
	var luaErr *Error
	if errors.As(err, &luaErr) && ctx.Err() == nil {
		luaErr.Message = vm.ErrorMessage(luaErr) // a table raised reads as its fields
		if h.printErr {
			fmt.Fprintln(lockedWriter{h.out, h.out.stderr}, Text(luaErr))
		}
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		// os.exit stops the VM; its processes are still waited for, as
		// Python's sys.exit waits for them.
		h.waitNonDaemons(ctx)
	} else if ctx.Err() == nil {
		v.Finish()
	}
	if ctx.Err() != nil {
		return nil, &StoppedError{Cause: ctx.Err(), Processes: h.endAll()}
	}
	if exit != nil && exit.Code == 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	results := make([]any, len(rets))
	for i, r := range rets {
		if results[i], err = fromLua(r, i); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// fromLua converts the i-th value a chunk returned.
func fromLua(v lua.LValue, i int) (any, error) {
	g, err := script.FromLua(v)
	if err != nil {
		return nil, fmt.Errorf("the script's result #%d cannot be returned: %w", i+1, err)
	}
	return g, nil
}

// StoppedError is the error of a run whose context ended (it was
// cancelled, or its deadline or [Options.Timeout] passed) before the
// script did: errors.Is(err, context.Canceled) or
// errors.Is(err, context.DeadlineExceeded) says which.
type StoppedError struct {
	Cause     error // the context's error
	Processes int   // how many processes were still running, and were stopped
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("the run was stopped (%v); stopped %d running process(es)", e.Cause, e.Processes)
}

// Unwrap returns the context's error.
func (e *StoppedError) Unwrap() error { return e.Cause }

// waitNonDaemons waits until every non-daemon process has ended, or ctx is
// done.
func (h *Host) waitNonDaemons(ctx context.Context) {
	for _, p := range h.procs.list(func(p *process) bool { return !p.daemon }) {
		select {
		case <-p.done:
		case <-ctx.Done():
			return
		}
	}
}

// endAll ends every process still running (vm.EndProcesses: SIGTERM,
// then SIGKILL after a short grace), and returns how many it ended.
func (h *Host) endAll() int {
	running := h.procs.list(func(p *process) bool { return !p.ended() })
	vm.EndProcesses(context.Background(), mainRuntime{h}, ids(running))
	return len(running)
}
