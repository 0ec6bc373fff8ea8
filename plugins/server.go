package plugins

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"google.golang.org/grpc"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// server is the Module service of a plugin process. Each call runs in a
// Lua state of its own, taken from a pool of at most cap(tokens) states.
type server struct {
	pb.UnimplementedModuleServer
	m      Module
	out    io.Writer     // the VMs' stdout and stderr
	idle   chan *state   // states not in use
	tokens chan struct{} // one per state made
	info   *pb.InfoReply
}

// state is one Lua state of the pool, with the module loaded; it is used
// by one call at a time.
type state struct {
	vm  *vm.VM
	fns map[string]*lua.LFunction
}

// poolSize is how many calls a plugin runs at once; more wait for a state.
func poolSize() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// newServer loads m in a first state, so that a module that fails to load
// fails at start, and describes it.
func newServer(m Module, out io.Writer) (*server, error) {
	n := poolSize()
	s := &server{m: m, out: out, idle: make(chan *state, n), tokens: make(chan struct{}, n)}
	s.tokens <- struct{}{}
	st, mod, err := s.newState()
	if err != nil {
		return nil, err
	}
	s.info = &pb.InfoReply{Name: m.Name, Version: m.Version, Stubs: m.Stubs, Pid: int64(os.Getpid())}
	for name := range st.fns {
		s.info.Functions = append(s.info.Functions, name)
	}
	slices.Sort(s.info.Functions)
	values := st.vm.L.NewTable()
	mod.ForEach(func(k, v lua.LValue) {
		if _, isFn := v.(*lua.LFunction); !isFn && pb.CheckData("", k) == nil && pb.CheckData("", v) == nil {
			values.RawSet(k, v)
		}
	})
	if s.info.Values, err = st.vm.Encode(m.Name, values); err != nil {
		return nil, err
	}
	s.idle <- st
	return s, nil
}

// newState makes a Lua state and loads the module in it.
func (s *server) newState() (*state, *lua.LTable, error) {
	v := vm.New(vm.Options{Stdout: s.out, Stderr: s.out})
	L := v.L
	if err := L.CallByParam(lua.P{Fn: L.NewFunction(s.m.Loader), NRet: 1, Protect: true}); err != nil {
		v.Close()
		return nil, nil, fmt.Errorf("loading module %s: %w", s.m.Name, err)
	}
	mod, ok := L.Get(-1).(*lua.LTable)
	L.Pop(1)
	if !ok {
		v.Close()
		return nil, nil, fmt.Errorf("loading module %s: the loader gave a %s, not a table", s.m.Name, mod.Type())
	}
	st := &state{vm: v, fns: make(map[string]*lua.LFunction)}
	mod.ForEach(func(k, v lua.LValue) {
		if name, ok := k.(lua.LString); ok {
			if fn, ok := v.(*lua.LFunction); ok {
				st.fns[string(name)] = s.named(L, string(name), fn)
			}
		}
	})
	return st, mod, nil
}

// named wraps fn in a Lua function that calls it by name, so that
// L.ArgError's message names it ("bad argument #1 to greet") as it does
// for a function a script calls. The wrapper's own position is cut from
// errors (see errorText).
func (s *server) named(L *lua.LState, name string, fn *lua.LFunction) *lua.LFunction {
	wrap, err := L.Load(strings.NewReader(fmt.Sprintf("local %s = ... return function(...) return %s(...) end", name, name)), wrapperChunk)
	if err != nil {
		return fn // not a Lua name: called as it is
	}
	if err := L.CallByParam(lua.P{Fn: wrap, NRet: 1, Protect: true}, fn); err != nil {
		return fn
	}
	named := L.Get(-1).(*lua.LFunction)
	L.Pop(1)
	return named
}

// wrapperChunk names the chunk of the wrappers that named makes.
const wrapperChunk = "mphost-plugin"

// errorText is a string error raised in the plugin without the position
// of named's wrapper, which means nothing to the script.
func errorText(msg string) string {
	msg = strings.TrimPrefix(msg, wrapperChunk+":1:")
	return strings.TrimLeft(msg, " ")
}

// get takes an idle state, or makes one while the pool has room, or waits.
func (s *server) get(ctx context.Context) (*state, error) {
	select {
	case st := <-s.idle:
		return st, nil
	default:
	}
	select {
	case st := <-s.idle:
		return st, nil
	case s.tokens <- struct{}{}:
		st, _, err := s.newState()
		if err != nil {
			<-s.tokens
		}
		return st, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Info describes the module.
func (s *server) Info(context.Context, *pb.Empty) (*pb.InfoReply, error) { return s.info, nil }

// Lifeline blocks until the host that opened it is gone; then the plugin
// exits.
func (s *server) Lifeline(_ *pb.Empty, stream grpc.ServerStreamingServer[pb.Empty]) error {
	<-stream.Context().Done()
	hostGone()
	return nil
}

// call runs a function of the module in a state of the pool. Every failure
// is a Lua error value in the reply.
func (s *server) call(ctx context.Context, req *pb.CallRequest) *pb.CallReply {
	st, err := s.get(ctx)
	if err != nil {
		return s.fail(nil, lua.LString(err.Error()))
	}
	defer func() { s.idle <- st }()
	fn, ok := st.fns[req.Function]
	if !ok {
		return s.fail(st, lua.LString(fmt.Sprintf("module %s has no function %q", s.m.Name, req.Function)))
	}
	args, err := pb.DecodeValues(st.vm, "argument", req.Args)
	if err != nil {
		return s.fail(st, lua.LString(err.Error()))
	}
	L := st.vm.L
	top := L.GetTop()
	defer L.SetTop(top)
	L.SetContext(ctx) // the call stops when its caller stops waiting
	defer L.SetContext(st.vm.Context())
	if err := L.CallByParam(lua.P{Fn: fn, NRet: lua.MultRet, Protect: true}, args...); err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok && apiErr.Object != nil {
			return s.fail(st, apiErr.Object)
		}
		return s.fail(st, lua.LString(err.Error()))
	}
	results := make([]lua.LValue, 0, L.GetTop()-top)
	for i := top + 1; i <= L.GetTop(); i++ {
		results = append(results, L.Get(i))
	}
	data, err := pb.EncodeValues(st.vm, "result", results)
	if err != nil {
		return s.fail(st, lua.LString(err.Error()))
	}
	return &pb.CallReply{Results: data}
}

// fail is the reply of a call that raised value: encoded as it is when it
// is data, as its text otherwise.
func (s *server) fail(st *state, value lua.LValue) *pb.CallReply {
	if msg, ok := value.(lua.LString); ok {
		value = lua.LString(errorText(string(msg)))
	}
	if st != nil && pb.CheckData("error", value) == nil {
		if data, err := st.vm.Encode("error", value); err == nil {
			return &pb.CallReply{Error: data}
		}
	}
	return &pb.CallReply{Failure: value.String()}
}
