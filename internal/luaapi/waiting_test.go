package luaapi_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/luaapi"
	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/vm"
)

// TestWaitingDeclarations holds the declaration's waiting fields to
// internal/ops: each Op names a declared operation, NoWait is declared
// only on a method whose operation blocks, Waits only on one that
// performs no operation, and every method that takes a timeout waits.
func TestWaitingDeclarations(t *testing.T) {
	check := func(c *luaapi.Class, f *luaapi.Func) {
		name := f.Name
		if c != nil {
			name = c.Name + "." + f.Name
		}
		op, err := luaapi.MP.OpOf(c, f)
		switch w := luaapi.MP.Waiting(c, f); {
		case err != nil:
			t.Error(err)
		case f.NoWait && !op.Decl().Blocks:
			t.Errorf("%s declares NoWait, but %s does not block", name, op)
		case f.Waits && op != ops.None:
			t.Errorf("%s declares Waits, but it waits in %s, which says so", name, op)
		case c != nil && w.Timeout && !w.Waits:
			t.Errorf("%s takes a timeout, but neither its operation (%s) blocks nor does it declare Waits", name, op)
		}
	}
	for i := range luaapi.MP.Funcs {
		check(nil, &luaapi.MP.Funcs[i])
	}
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		for j := range c.Methods {
			check(c, &c.Methods[j])
		}
	}
}

// errRecorded is what the recording runtime answers a call that would wait.
var errRecorded = errors.New("recorded")

// recorder is a vm.Runtime that records the object operations the
// bindings perform and the process waits they ask for. It answers an
// operation that does not block with success and zero values, one that
// blocks with errRecorded (so that the binding raises right after it),
// and starts no process.
type recorder struct {
	calls  []vm.ObjectCall
	waits  []time.Duration // Process waits' timeouts; -1 for forever
	nextID uint64
}

func (r *recorder) Self() vm.ProcessInfo {
	return vm.ProcessInfo{Name: "MainProcess", Pid: os.Getpid()}
}
func (r *recorder) Parent() (vm.ProcessInfo, bool) { return vm.ProcessInfo{}, false }
func (r *recorder) Spawn(context.Context, vm.SpawnRequest) (vm.ProcessStatus, error) {
	r.nextID++
	return vm.ProcessStatus{ID: r.nextID, Pid: 1, Alive: true}, nil
}
func (r *recorder) Wait(_ context.Context, _ uint64, timeout time.Duration, forever bool) (vm.ProcessStatus, error) {
	if forever {
		timeout = -1
	}
	r.waits = append(r.waits, timeout)
	return vm.ProcessStatus{}, errRecorded
}
func (r *recorder) Status(id uint64) (vm.ProcessStatus, error) {
	return vm.ProcessStatus{ID: id, Pid: 1, Alive: true}, nil
}
func (r *recorder) Signal(uint64, syscall.Signal) error { return nil }
func (r *recorder) Release(uint64) error                { return nil }
func (r *recorder) NewObject(kind string, _ vm.ObjectArgs) ([]uint64, error) {
	n := 1
	if kind == "Connection" {
		n = 2
	}
	ids := make([]uint64, n)
	for i := range ids {
		r.nextID++
		ids[i] = r.nextID
	}
	return ids, nil
}
func (r *recorder) Invoke(_ context.Context, call vm.ObjectCall) (vm.ObjectReply, error) {
	r.calls = append(r.calls, call)
	if call.Op.Decl().Blocks {
		return vm.ObjectReply{}, errRecorded
	}
	return vm.ObjectReply{OK: true}, nil
}

// objectsCode makes an object of each class, named by its class, and a
// function that can cross processes.
const objectsCode = `local mp = require("mp")
local objs = {Lock = mp.Lock(), RLock = mp.RLock(), Semaphore = mp.Semaphore(),
	BoundedSemaphore = mp.BoundedSemaphore(), Event = mp.Event(), Condition = mp.Condition(),
	Barrier = mp.Barrier(2), Queue = mp.Queue(), JoinableQueue = mp.JoinableQueue(),
	Connection = mp.Pipe(), Value = mp.Value(1), Pool = mp.Pool(1)}
local function f() end
objs.Process = mp.Process{target = f}
objs.Process:start()
objs.AsyncResult = objs.Pool:apply_async(f)
return objs, f`

// testTimeout is the timeout given to each method that takes one.
const testTimeout = 0.25

// argsFor are arguments for f: a value of its type for each required
// parameter (fn for a function), testTimeout for a timeout, nil for the
// other optional ones.
func argsFor(L *lua.LState, f *luaapi.Func, fn lua.LValue) []lua.LValue {
	var args []lua.LValue
	for _, p := range f.Params {
		var v lua.LValue = lua.LNil
		switch {
		case p.Name == "timeout":
			v = lua.LNumber(testTimeout)
		case p.Name == "...", p.Optional:
		case p.Type == "function":
			v = fn
		case p.Type == "table":
			v = L.NewTable() // {{1}}: a list whose item is a list too, for starmap
			item := L.NewTable()
			item.Append(lua.LNumber(1))
			v.(*lua.LTable).Append(item)
		case p.Type == "string":
			v = lua.LString("s")
		default: // any, number, integer
			v = lua.LNumber(1)
		}
		args = append(args, v)
	}
	return args
}

// waitsIn reports whether call waits: its operation blocks and it was
// asked to, or takes no Wait (a send waits while the pipe is full).
func waitsIn(call vm.ObjectCall) bool {
	d := call.Op.Decl()
	return d.Blocks && (!d.Args.Has(ops.Wait) || call.Wait.Block)
}

// TestWaitingMatchesBindings calls every method of every class on a VM
// whose runtime records what the bindings ask it, and holds the
// declaration to it: a method declared to wait in an operation performs
// that operation, waiting (its ops row Blocks) unless it declares NoWait;
// with a timeout, the wait is bounded by it; a method declared not to wait
// asks for no wait; an iterator waits in its steps, not in the call.
func TestWaitingMatchesBindings(t *testing.T) {
	rec := &recorder{}
	v := vm.New(vm.Options{Runtime: rec, Stdout: io.Discard, Stderr: io.Discard})
	t.Cleanup(v.Close)
	code, err := v.Load(vm.Chunk{Name: "objects.lua", Source: objectsCode})
	if err != nil {
		t.Fatal(err)
	}
	results, err := v.Call(code)
	if err != nil {
		t.Fatal(err)
	}
	objs, fn := results[0].(*lua.LTable), results[1]
	for i := range luaapi.MP.Classes {
		c := &luaapi.MP.Classes[i]
		obj := objs.RawGetString(c.Name)
		if obj == lua.LNil {
			t.Fatalf("objectsCode makes no %s", c.Name)
		}
		methods := luaapi.MP.AllMethods(c)
		for j := range methods {
			f := &methods[j]
			if f.Name == "extend" || f.Name == "run" || f.Name == "init" || f.Name == "start" || f.Name == "close" && c.Name == "Process" {
				continue // they rebuild or end the object the others use
			}
			name := c.Name + "." + f.Name
			w := luaapi.MP.Waiting(c, f)
			calls, waits := len(rec.calls), len(rec.waits)
			result, _ := call(t, v.L, v.L.GetField(obj, f.Name), append([]lua.LValue{obj}, argsFor(v.L, f, fn)...)...)
			if w.Iterator {
				for _, c := range rec.calls[calls:] {
					if waitsIn(c) {
						t.Errorf("%s returns an iterator, yet the call itself waits in %s", name, c.Op)
					}
				}
				if _, ok := result.(*lua.LFunction); !ok {
					t.Errorf("%s returned a %s, declared an iterator", name, result.Type())
					continue
				}
				calls = len(rec.calls)
				call(t, v.L, result)
			}
			var waited []vm.ObjectCall
			performed := false
			for _, c := range rec.calls[calls:] {
				performed = performed || c.Op == w.Op
				if waitsIn(c) {
					waited = append(waited, c)
				}
			}
			switch {
			case w.Op != ops.None && !performed:
				t.Errorf("%s is declared to perform %s; the binding did not", name, w.Op)
			case f.Waits:
				if len(rec.waits) == waits {
					t.Errorf("%s is declared to wait for a process; the binding did not ask", name)
				} else if w.Timeout && rec.waits[waits] != time.Duration(testTimeout*float64(time.Second)) {
					t.Errorf("%s(%v) waited %v for a process, not its timeout", name, testTimeout, rec.waits[waits])
				}
			case w.Waits && len(waited) == 0:
				t.Errorf("%s is declared to wait in %s; the binding performed %v without waiting", name, w.Op, opsOf(rec.calls[calls:]))
			case !w.Waits && len(waited) > 0:
				t.Errorf("%s is declared not to wait; the binding waited in %s", name, waited[0].Op)
			case w.Waits && waited[0].Op != w.Op:
				t.Errorf("%s is declared to wait in %s; the binding waited in %s", name, w.Op, waited[0].Op)
			case w.Waits && w.Timeout && (waited[0].Wait.Forever || waited[0].Wait.Timeout <= 0 ||
				waited[0].Wait.Timeout > time.Duration(testTimeout*float64(time.Second))):
				t.Errorf("%s(timeout=%v) waited %+v: its timeout does not bound the wait", name, testTimeout, waited[0].Wait)
			case w.Waits && !w.Timeout && !waitsForever(waited[0]):
				t.Errorf("%s has no timeout, yet its wait is bounded: %+v", name, waited[0].Wait)
			}
		}
	}
}

// waitsForever reports whether a wait has no bound: a Wait without a
// timeout, or an operation that takes none.
func waitsForever(call vm.ObjectCall) bool {
	return !call.Op.Decl().Args.Has(ops.Wait) || call.Wait.Forever
}

func opsOf(calls []vm.ObjectCall) string {
	var names []string
	for _, c := range calls {
		names = append(names, c.Op.String())
	}
	return "[" + strings.Join(names, " ") + "]"
}

// TestSleepIsInterruptible: mp.sleep, which waits outside the object
// operations, ends when the VM's context does.
func TestSleepIsInterruptible(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := vm.New(vm.Options{Context: ctx, StopsAtWaitsOnly: true, Stdout: io.Discard, Stderr: io.Discard})
	t.Cleanup(v.Close)
	start := time.Now()
	err := v.L.DoString(`require("mp").sleep(600)`)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || time.Since(start) > time.Minute {
		t.Errorf("mp.sleep(600) in an interrupted VM: %v after %v", err, time.Since(start))
	}
}
