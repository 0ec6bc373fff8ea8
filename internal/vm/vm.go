package vm

import (
	"context"
	"errors"
	"fmt"
	"github.com/mphost/mphost/script"
	"io"
	"os"
	"strings"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"
)

// Options configure a [VM]. The zero value is usable: no Runtime means a
// lone main process, and output goes to the process's own stdout and stderr.
type Options struct {
	// Runtime is what the `mp` builtins call for anything outside the VM.
	Runtime Runtime
	// Chunks is the record of loaded chunks; nil makes a new one with no
	// remote store.
	Chunks *Chunks
	// Stdout and Stderr receive print, io.write, io.stdout and io.stderr.
	// Each print call is one Write of a whole line.
	Stdout, Stderr io.Writer
	// Context, when done, stops the running script at its next instruction
	// or blocking call.
	Context context.Context
	// StopsAtWaitsOnly, when true, makes the VM check Context only in its
	// blocking calls, not between instructions: Lua code runs faster
	// (bench/README.md), but a loop that calls nothing that waits runs on after
	// Context is done. Children set it: the host stops them with signals.
	// os.exit ends the script either way, through pcall, xpcall and
	// coroutine.resume.
	StopsAtWaitsOnly bool
	// Limits bound what the codec encodes and decodes; zero fields take the
	// values of [DefaultLimits].
	Limits Limits
	// Modules finds Go modules that are not registered (RegisterModule),
	// such as plugins: require asks it last, after package.preload and
	// package.path, and the codec asks it for the module of a builtin it
	// does not know. It returns the module's loader for the VM, or an error
	// that says where it looked, which require's error lists.
	Modules ModuleFinder
}

// Limits of the VM's call stack and data stack, raised from gopher-lua's
// defaults so that recursion 10 000 deep and unpack of 10 000 values work.
const (
	callStackSize   = 20000 // frames, as Lua 5.1's LUAI_MAXCALLS; the auto-growing stack keeps a pointer per 8
	registrySize    = 1024
	registryMaxSize = 1024 * 1024 * 16
	// registryGrowStep is how many slots the data stack grows by at a time:
	// gopher-lua grows it by a fixed step, copying it whole each time, so a
	// small step makes deep recursion quadratic.
	registryGrowStep = 4096
)

// VM is one Lua state with mphost's libraries: the standard library, the
// chunk record, output sent to the configured writers, and `mp`.
// A VM is used by one goroutine at a time.
type VM struct {
	L       *lua.LState
	chunks  *Chunks
	runtime Runtime
	locks   LockTaker // runtime, when it takes locks itself; nil otherwise
	limits  Limits
	stdout  *stream
	stderr  *stream

	builtins builtins
	handles  map[string]HandleKind

	procs        map[procKey]*procState // Process objects made or run here (process_table.go)
	droppedProcs *collected[procKey]    // Process objects Go collected, to forget
	started      []*lua.LTable          // the processes this VM started and may not have ended, in order
	startedCheck int                    // the length of started at which addStarted drops the ended
	childCount   int                    // numbers this VM's children
	processClass *lua.LTable
	processMeta  *lua.LTable
	selfObj      *lua.LTable // mp.current_process(), once made
	parentObj    *lua.LTable // mp.parent_process(), once made
	objectKinds  map[string]*objectKind
	pools        map[uint64]poolInfo      // pools this VM created
	pendingAsync []*asyncResult           // async results whose callbacks have not run
	dropped      *collected[droppedBatch] // async results Go collected unsettled, to forget in the host
	holds        *objectHolds             // what this VM holds of the host's objects (holds.go); nil until used
	inCallbacks  bool
	globals      map[*lua.FunctionProto][]string // globals each prototype reads, memoized
	finder       ModuleFinder                    // Options.Modules
	goModules    map[string]bool                 // the Go modules loaded here
	scratch      []byte                          // encodeSent's buffer
	runScratch   []float64                       // the encoder's run of numbers (encoder.numbers)
	spareDecoder atomic.Pointer[decoder]         // a decoder for the next Decode (putDecoder)

	ctx             context.Context // Options.Context; blocking calls end when it is done
	cancel          context.CancelFunc
	exitCode        *int                        // set by os.exit
	traceback       string                      // the traceback of the last uncaught error
	tbFunc          *lua.LFunction              // debug.traceback, as it was at start
	getInfo         lua.LGFunction              // gopher-lua's debug.getinfo
	handler         *lua.LFunction              // Call's message handler, made once
	noop            *lua.LFunction              // pcall.go's
	closeOnError    *lua.LFunction              // pcall's message handler
	handleThenClose *lua.LFunction              // xpcall's message handler, around the script's
	passError       *lua.LFunction              // pcall's message handler for a Go function
	threads         []*helperCall               // free helper threads of pcall and xpcall
	owners          map[*lua.LState]*helperCall // helper threads in use, and whose call each runs
	inPlace         []*lua.LState               // threads running a pcall of a Go function in place
	outerFrames     int                         // frames on the stack when the running Call began
}

// New builds a VM.
func New(opts Options) *VM {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	vm := &VM{
		L: lua.NewState(lua.Options{
			CallStackSize:       callStackSize,
			RegistrySize:        registrySize,
			RegistryMaxSize:     registryMaxSize,
			RegistryGrowStep:    registryGrowStep,
			MinimizeStackMemory: true,
		}),
		chunks:       opts.Chunks,
		runtime:      opts.Runtime,
		limits:       opts.Limits.withDefaults(),
		handles:      make(map[string]HandleKind),
		procs:        make(map[procKey]*procState),
		droppedProcs: new(collected[procKey]),
		objectKinds:  make(map[string]*objectKind),
		pools:        make(map[uint64]poolInfo),
		dropped:      new(collected[droppedBatch]),
		globals:      make(map[*lua.FunctionProto][]string),
		goModules:    make(map[string]bool),
		ctx:          ctx,
		cancel:       cancel,
	}
	if vm.chunks == nil {
		vm.chunks = NewChunks(nil)
	}
	if vm.runtime == nil {
		vm.runtime = loneRuntime{}
	}
	vm.locks, _ = vm.runtime.(LockTaker)
	if !opts.StopsAtWaitsOnly {
		vm.L.SetContext(ctx)
	}
	vm.stdout = newStream("stdout", orDefault(opts.Stdout, os.Stdout))
	vm.stderr = newStream("stderr", orDefault(opts.Stderr, os.Stderr))
	vm.handler = vm.L.NewFunction(vm.recordTraceback)

	vm.openLoaders()
	vm.openGoModules(opts.Modules)
	vm.openProtected()
	vm.tbFunc = vm.L.GetField(vm.L.GetGlobal("debug"), "traceback").(*lua.LFunction)
	vm.openOutput()
	vm.openExit()
	vm.builtins = collectBuiltins(vm.L, vm.openMP())
	vm.builtins.addTable("mp.Process", vm.processClass)
	vm.builtins.addTable("mp.Process.meta", vm.processMeta)
	return vm
}

func orDefault(w io.Writer, def io.Writer) io.Writer {
	if w == nil {
		return def
	}
	return w
}

// Close releases the VM.
func (vm *VM) Close() {
	vm.cancel()
	vm.L.Close()
}

// Context returns the context that the VM's blocking calls watch: a Go
// function that waits must end when it is done. Use it rather than
// L.Context(), which is nil in a VM made with Options.StopsAtWaitsOnly.
func (vm *VM) Context() context.Context { return vm.ctx }

// Chunks returns the VM's chunk record.
func (vm *VM) Chunks() *Chunks { return vm.chunks }

// SetArgs sets the global `arg` table as the `lua` command does: arg[0] is the
// script, arg[1..n] its arguments.
func (vm *VM) SetArgs(script string, args []string) {
	t := vm.L.CreateTable(len(args), 1)
	t.RawSetInt(0, lua.LString(script))
	for i, a := range args {
		t.RawSetInt(i+1, lua.LString(a))
	}
	vm.L.SetGlobal("arg", t)
}

// Load compiles a chunk, records it, and returns its main function without
// running it.
func (vm *VM) Load(c Chunk) (*lua.LFunction, error) {
	proto, err := vm.chunks.Compile(c)
	if err != nil {
		return nil, err
	}
	return vm.L.NewFunctionFromProto(proto), nil
}

// Run compiles and runs a chunk as a main script, passing it args as `...`.
// An uncaught error is returned as an [*Error], os.exit as an [*ExitError].
func (vm *VM) Run(c Chunk, args ...lua.LValue) error {
	fn, err := vm.Load(c)
	if err != nil {
		return err
	}
	_, err = vm.Call(fn, args...)
	return err
}

// Call calls fn in protected mode and returns its results. An uncaught error
// is returned as an [*Error] carrying the Lua traceback, os.exit as an
// [*ExitError].
func (vm *VM) Call(fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	return vm.callAt(vm.stackDepth(), fn, args...)
}

// stackDepth counts the frames on the VM's stack now.
func (vm *VM) stackDepth() int {
	n := 0
	for _, ok := vm.L.GetStack(0); ok; _, ok = vm.L.GetStack(n) {
		n++
	}
	return n
}

// callAt is Call for a caller that knows the stack's depth (a pool worker
// calling a task's function for every item): the frames below it are left
// out of an error's traceback.
func (vm *VM) callAt(depth int, fn lua.LValue, args ...lua.LValue) ([]lua.LValue, error) {
	L := vm.L
	vm.traceback = ""
	outer := vm.outerFrames
	vm.outerFrames = depth
	defer func() { vm.outerFrames = outer }()
	base := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	err := L.PCall(len(args), lua.MultRet, vm.handler)
	if vm.exitCode != nil {
		L.SetTop(base)
		return nil, &ExitError{Code: *vm.exitCode}
	}
	if err != nil {
		L.SetTop(base)
		return nil, vm.uncaught(err)
	}
	rets := make([]lua.LValue, L.GetTop()-base)
	for i := range rets {
		rets[i] = L.Get(base + 1 + i)
	}
	L.SetTop(base)
	return rets, nil
}

// recordTraceback is the message handler of Call: it keeps the traceback of
// the error's origin and leaves the error value as it is.
func (vm *VM) recordTraceback(L *lua.LState) int {
	L.Push(vm.tbFunc)
	L.Push(lua.LString(""))
	L.Push(lua.LNumber(2)) // skip this handler
	if err := L.PCall(2, 1, nil); err == nil {
		vm.traceback = trimOuterFrames(strings.TrimSpace(L.ToString(-1)), vm.outerFrames)
		L.Pop(1)
	}
	return 1
}

// trimOuterFrames drops from a traceback the frames that were already on
// the stack when Call began (a pool worker's loop, say): they are not the
// script author's. The last line, "[G]: ?", stays.
func trimOuterFrames(tb string, outer int) string {
	lines := strings.Split(tb, "\n")
	if outer == 0 || len(lines) < outer+3 || strings.Contains(tb, "\n\t...") {
		return tb
	}
	last := len(lines) - 1
	return strings.Join(append(lines[:last-outer], lines[last]), "\n")
}

func (vm *VM) uncaught(err error) error {
	var apiErr *lua.ApiError
	if !errors.As(err, &apiErr) {
		return err
	}
	traceback := vm.traceback
	msg := apiErr.Object.String()
	if s, ok := apiErr.Object.(lua.LString); ok {
		msg = string(s)
	} else if apiErr.Object != lua.LNil {
		msg = fmt.Sprintf("(error object is a %s value)", apiErr.Object.Type())
		if str, ok := vm.L.GetMetaField(apiErr.Object, "__tostring").(*lua.LFunction); ok {
			if rets, err := vm.Call(str, apiErr.Object); err == nil && len(rets) > 0 {
				msg = lua.LVAsString(rets[0])
			}
		}
	}
	if ctxErr := vm.ctx.Err(); ctxErr != nil {
		return &Error{Message: msg, Traceback: traceback, Value: apiErr.Object, Interrupted: true}
	}
	return &Error{Message: msg, Traceback: traceback, Value: apiErr.Object}
}

// The errors a run ends with are the public script package's.
type (
	Error       = script.Error
	ExitError   = script.ExitError
	SyntaxError = script.SyntaxError
)

// openExit replaces os.exit: it flushes output and stops the VM, so that the
// embedding program, not the script, ends the process.
func (vm *VM) openExit() {
	osTable := vm.L.GetGlobal("os").(*lua.LTable)
	osTable.RawSetString("exit", vm.L.NewFunction(func(L *lua.LState) int {
		code := 0
		switch v := L.Get(1).(type) {
		case lua.LBool:
			if !v {
				code = 1
			}
		case lua.LNumber:
			code = int(v)
		case *lua.LNilType:
		default:
			L.ArgError(1, "number or boolean expected, got "+v.Type().String())
		}
		vm.exitCode = &code
		vm.cancel()
		// From here on, any Lua that is entered (an xpcall's handler, say)
		// stops at its first instruction, as in a VM that checks its context
		// throughout; exitThrough unwinds the rest.
		L.SetContext(vm.ctx)
		vm.L.SetContext(vm.ctx)
		L.RaiseError("os.exit(%d)", code)
		return 0
	}))
	globals := vm.L.G.Global
	for _, name := range []string{"pcall", "xpcall"} {
		globals.RawSetString(name, vm.exitThrough(globals.RawGetString(name)))
	}
	coroutine := globals.RawGetString("coroutine").(*lua.LTable)
	coroutine.RawSetString("resume", vm.exitThrough(coroutine.RawGetString("resume")))
	// coroutine.wrap's functions raise their coroutine's error in the
	// caller's thread: each is wrapped too.
	wrap := coroutine.RawGetString("wrap").(*lua.LFunction).GFunction
	coroutine.RawSetString("wrap", vm.L.NewFunction(func(L *lua.LState) int {
		n := wrap(L)
		L.Replace(-1, vm.exitThrough(L.Get(-1)))
		return n
	}))
}

// exitThrough wraps catch, a builtin that catches errors (pcall, xpcall,
// coroutine.resume, a function of coroutine.wrap), so that it lets
// os.exit's error through: after os.exit, no more of the script runs. A VM
// that checks its context between instructions would stop at the next one
// anyway; one that does not (Options.StopsAtWaitsOnly) relies on this, and
// on the (done) context that os.exit sets on its thread and that this sets
// on every thread the error crosses, which stops any Lua entered after it,
// such as an xpcall's handler. It calls catch's Go function in its own
// frame, so that tracebacks show one frame, named as the function it wraps.
func (vm *VM) exitThrough(catch lua.LValue) *lua.LFunction {
	fn := catch.(*lua.LFunction)
	catchGo := fn.GFunction
	upvalues := make([]lua.LValue, len(fn.Upvalues)) // a wrap function's: its coroutine
	for i, u := range fn.Upvalues {
		upvalues[i] = u.Value()
	}
	return vm.L.NewClosure(func(L *lua.LState) int {
		defer func() { // whether catch returned or raised
			if vm.exitCode != nil {
				L.SetContext(vm.ctx)
			}
		}()
		n := catchGo(L)
		if vm.exitCode != nil {
			L.RaiseError("os.exit(%d)", *vm.exitCode)
		}
		return n
	}, upvalues...)
}
