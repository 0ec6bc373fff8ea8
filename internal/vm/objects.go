package vm

import (
	"fmt"
	"time"

	"github.com/mphost/mphost/internal/ops"

	lua "github.com/yuin/gopher-lua"
)

// Shared objects (Lock, Queue, Pipe, ...) live in the host. A VM holds them
// as userdata standing for (kind, id) and does every operation through
// Runtime.Invoke: directly in the main script, over RPC in a child. The
// same userdata crosses processes as a handle to the same object.

// Wait says how long a blocking operation may wait.
type Wait struct {
	Block   bool          // false: do not wait at all
	Forever bool          // no timeout
	Timeout time.Duration // when Block and not Forever
}

// ObjectArgs are what a constructor was given. Each field belongs to the
// kinds its comment names, and is zero for the others.
type ObjectArgs struct {
	Count    int64    // Semaphore, BoundedSemaphore: the initial value
	Bounded  bool     // Semaphore, BoundedSemaphore: release may not pass the initial value
	MaxSize  int64    // Queue, JoinableQueue: 0 for no bound
	Parties  int64    // Barrier
	Timeout  Wait     // Barrier: wait's default timeout
	Duplex   bool     // Connection (mp.Pipe)
	Capacity int64    // Connection: the bytes a pipe buffers; 0 for the default
	Lock     uint64   // Condition: its lock's id; 0 for an RLock of its own
	Initial  Value    // Value: its first value
	Pool     PoolArgs // Pool
}

// PoolArgs are mp.Pool's options that the host keeps.
type PoolArgs struct {
	Processes        int64
	MaxTasksPerChild int64 // 0: no limit
	TaskTimeout      Wait  // no limit unless Block
	Progress         bool  // draw the progress of its maps
}

// Value is an encoded Lua value, with numbers kept apart so the host can
// add to them atomically.
type Value struct {
	Data     []byte
	Number   float64
	IsNumber bool
}

// ObjectCall is one operation on a host-owned object: ops.Table declares,
// per Op, which of the fields after Op it reads.
type ObjectCall struct {
	ID      uint64
	Kind    string // "Lock", "Value", ...: the object's kind, when the script knows it
	Op      ops.Op
	Wait    Wait   // how long it may block
	Value   Value  // the item, message or value sent
	Count   int64  // how many: Condition.notify's n, a pool task's items, a batch's items shown
	Method  string // the Lua method a pool batch serves ("Pool.map"), a progress bar's label
	Batch   uint64 // a pool's batch of tasks
	Task    uint64 // a pool's task
	Func    uint64 // a pool's function id
	ErrText string // a pool task's error, from its worker
	Message uint64 // a pipe message held by the host
}

// ObjectReply is an operation's result: ops.Table declares, per Op, which
// fields it fills. Status carries the second result Lua sees: "abandoned",
// "timeout", "full", "empty", "closed".
type ObjectReply struct {
	OK       bool
	Status   string
	Value    Value  // the item, message or value received
	Result   int64  // the integer result: qsize, parties, a barrier's index
	Lock     uint64 // the Lock or RLock acquired or released
	Maxsize  int64  // a queue's maxsize, in a put's reply
	Batch    uint64 // a pool's batch of tasks
	Task     uint64 // a pool's task
	Func     uint64 // a pool's function id
	FuncCode []byte // a pool function's encoded closure
	ErrText  string // a pool task's error
	Ways     int64  // which ways a pipe end goes, in a child (see child.PipeReadable)
	Tally    uint64 // the id of a child's tally of a pipe end
}

// objectRef is the Go value of an object's userdata.
type objectRef struct {
	kind string
	id   uint64
}

// Handle implements [Handle]: objects cross processes by kind and id.
func (o *objectRef) Handle() (string, uint64) { return o.kind, o.id }

// objectKind is a class of shared objects: its metatable, built the first
// time an object of the kind is made or received (most processes use few
// kinds, and every process builds a VM).
type objectKind struct {
	mt    *lua.LTable
	build func() *lua.LTable
}

// defineObjectKind declares a kind and registers it so that handles of
// that kind can be rebuilt here. fields are its live fields, each read from
// the host with an operation at each access (Barrier.parties, ...).
func (vm *VM) defineObjectKind(name string, methods map[string]lua.LGFunction, fields map[string]ops.Op) {
	vm.objectKinds[name] = &objectKind{build: func() *lua.LTable { return vm.kindMetatable(name, methods, fields) }}
	vm.RegisterHandleKind(name, func(L *lua.LState, id uint64) (lua.LValue, error) {
		return vm.newObjectUserdata(name, id), nil // the decoder watches it
	})
}

// kindMetatable builds the metatable of a kind: its methods, and its live
// fields read from the host.
func (vm *VM) kindMetatable(name string, methods map[string]lua.LGFunction, fields map[string]ops.Op) *lua.LTable {
	L := vm.L
	mt := L.CreateTable(0, 2)
	methodTable := funcTable(L, methods)
	if len(fields) == 0 {
		// Only methods: Lua finds them in the table itself, without a call
		// to Go (a lock's acquire in a loop).
		mt.RawSetString("__index", methodTable)
	} else {
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			ref := vm.checkObject(L, name, "index")
			key := L.CheckString(2)
			if op, ok := fields[key]; ok {
				return pushResult(L, op, vm.invoke(L, name, ObjectCall{ID: ref.id, Op: op}))
			}
			L.Push(methodTable.RawGetString(key))
			return 1
		}))
	}
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("<%s %d>", name, vm.checkObject(L, name, "tostring").id)))
		return 1
	}))
	return mt
}

// newObjectUserdata returns a userdata for the object with the given id,
// not yet watched.
func (vm *VM) newObjectUserdata(kind string, id uint64) *lua.LUserData {
	ud := vm.L.NewUserData()
	ud.Value = &objectRef{kind: kind, id: id}
	k := vm.objectKinds[kind]
	if k.mt == nil {
		k.mt = k.build()
	}
	ud.Metatable = k.mt
	return ud
}

// checkObject returns the object at argument 1, which must be of kind.
func (vm *VM) checkObject(L *lua.LState, kind, method string) *objectRef {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if ref, ok := ud.Value.(*objectRef); ok && ref.kind == kind {
			return ref
		}
	}
	L.RaiseError("%s.%s: %s expected as self (call it with ':')", kind, method, kind)
	return nil
}

// construct makes a new object of kind and pushes its userdata.
func (vm *VM) construct(L *lua.LState, kind string, args ObjectArgs) int {
	vm.reportHolds()
	ids, err := vm.runtime.NewObject(kind, args)
	if outOfFiles(err) && vm.collectObjects() {
		ids, err = vm.runtime.NewObject(kind, args)
	}
	if err != nil {
		name := kind
		if kind == "Connection" {
			name = "Pipe" // the constructor of Connections
		}
		L.RaiseError("mp.%s: %v", name, err)
	}
	for _, id := range ids {
		ud := vm.newObjectUserdata(kind, id)
		vm.watchObject(ud, id, delivered) // the host counted this process as its holder
		L.Push(ud)
	}
	return len(ids)
}

// invoke performs an operation, raising a Lua error (with the caller's
// file:line) when it fails.
func (vm *VM) invoke(L *lua.LState, kind string, call ObjectCall) ObjectReply {
	vm.beforeCall(L, call.Op)
	call.Kind = kind
	reply, err := vm.runtime.Invoke(vm.ctx, call)
	if err != nil {
		vm.raiseRuntime(L, kind+"."+call.Op.Decl().Name, err)
	}
	return reply
}

// beforeCall is what the VM does before any operation on an object: it
// reports what it holds, as op needs, and runs the callbacks of finished
// async results.
func (vm *VM) beforeCall(L *lua.LState, op ops.Op) {
	vm.reportHoldsBefore(op)
	vm.runCallbacks(L, Wait{})
}

// checkTimeoutWait reads an optional timeout at n: nil waits forever.
func checkTimeoutWait(L *lua.LState, n int, fname string) Wait {
	d, limited := checkTimeout(L, n, fname)
	return Wait{Block: true, Forever: !limited, Timeout: d}
}

// opMethod is a method that performs its one operation: it reads its
// arguments as internal/luaapi declares them (see args.go) and pushes what
// reply pushes of the reply, or by default what the operation's row
// declares (pushResult).
func (vm *VM) opMethod(kind, method string, reply func(L *lua.LState, r ObjectReply) int) lua.LGFunction {
	a := argsOf(kind, method)
	if reply == nil {
		return func(L *lua.LState) int { return pushResult(L, a.op, vm.invoke(L, kind, a.read(vm, L))) }
	}
	return func(L *lua.LState) int { return reply(L, vm.invoke(L, kind, a.read(vm, L))) }
}

// opMethods are the methods of kind as internal/luaapi declares them:
// special's, and an opMethod for each other method whose arguments the VM
// reads from the declarations and whose reply holds no value (a value
// needs its reply in special).
func (vm *VM) opMethods(kind string, special map[string]lua.LGFunction) map[string]lua.LGFunction {
	methods := make(map[string]lua.LGFunction, len(special)+len(kindArgs()[kind]))
	for name, fn := range special {
		methods[name] = fn
	}
	for _, a := range kindArgs()[kind] {
		if _, ok := methods[a.method]; !ok && !a.op.Decl().Reply.Has(ops.Value) {
			methods[a.method] = vm.opMethod(kind, a.method, nil)
		}
	}
	return methods
}

// pushResult pushes the result that op declares of r: its integer result
// (ops.Result), its boolean and status (ops.OK, ops.Status: see pushOK),
// its boolean (ops.OK), or nothing.
func pushResult(L *lua.LState, op ops.Op, r ObjectReply) int {
	switch reply := op.Decl().Reply; {
	case reply.Has(ops.Result):
		L.Push(lua.LNumber(r.Result))
	case reply.Has(ops.OK | ops.Status):
		return pushOK(L, r)
	case reply.Has(ops.OK):
		L.Push(lua.LBool(r.OK))
	default:
		return 0
	}
	return 1
}

// pushOK pushes true or false, and a status when there is one.
func pushOK(L *lua.LState, r ObjectReply) int {
	L.Push(lua.LBool(r.OK))
	if r.Status != "" {
		L.Push(lua.LString(r.Status))
		return 2
	}
	return 1
}

// pushItem is the reply of a method that takes an item (a get, a recv):
// it pushes the item, decoded (as its encoded bytes when raw and it is no
// string), or nil and the status.
func (vm *VM) pushItem(fname string, raw bool) func(L *lua.LState, r ObjectReply) int {
	return func(L *lua.LState, r ObjectReply) int {
		if !r.OK {
			L.Push(lua.LNil)
			L.Push(lua.LString(r.Status))
			return 2
		}
		v := vm.decodeValue(L, fname, received, r.Value)
		if _, isString := v.(lua.LString); raw && !isString {
			v = lua.LString(r.Value.Data) // recv_bytes of a message sent with send
		}
		L.Push(v)
		return 1
	}
}

// encodeValue encodes a value sent to an object, naming it root in errors.
// A number stays a number, so that a Value can add to it.
func (vm *VM) encodeValue(L *lua.LState, fname, root string, v lua.LValue) Value {
	if n, ok := v.(lua.LNumber); ok {
		return Value{Number: float64(n), IsNumber: true}
	}
	return vm.encodeItem(L, fname, root, v)
}

// encodeItem encodes a value sent through a queue or pipe; for a
// ValueCopier runtime, in the VM's scratch buffer, valid until the next
// encodeItem.
func (vm *VM) encodeItem(L *lua.LState, fname, root string, v lua.LValue) Value {
	data, err := vm.encodeSent(func(buf []byte) ([]byte, error) { return vm.encodeTo(buf, root, v) })
	if err != nil {
		L.RaiseError("%s: %v", fname, err)
	}
	return Value{Data: data}
}

// decodeValue rebuilds a value received from an object; its handles tell
// the host r.
func (vm *VM) decodeValue(L *lua.LState, fname string, r receipt, v Value) lua.LValue {
	if v.IsNumber {
		return lua.LNumber(v.Number)
	}
	out, err := vm.decodeAs(r, v.Data)
	if err != nil {
		L.RaiseError("%s: %v", fname, err)
	}
	return out
}

// withHeld is x:with(f, ...) of kind: acquire, call f, release even when f
// raises, and return f's results (Python's `with x:`).
func (vm *VM) withHeld(L *lua.LState, kind string, acquire, release func()) int {
	fn := checkFunction(L, 2, kind+".with", "f")
	top := L.GetTop()
	acquire()
	L.Push(fn)
	for i := 3; i <= top; i++ {
		L.Push(L.Get(i))
	}
	err := vm.protectedCall(L, top-2, nil) // as pcall: closures keep what they share
	release()
	if err != nil {
		L.Error(errorValue(err), 0)
	}
	return L.GetTop() - top
}
