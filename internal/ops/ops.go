// Package ops declares every operation on a host-owned object, once: its
// kind, its name, the fields of vm.ObjectCall it reads and of
// vm.ObjectReply it fills, whether it blocks, and whether a child may post
// it without waiting for the host. The host serves each row with one
// handler (host/op_handlers.go), a child decides from the row what it posts
// (internal/child/remote.go), and the mp bindings read a method's
// arguments into the fields its row declares (internal/vm/args.go).
// Adding an operation is a row here, a handler in the host, and its method
// in internal/luaapi.
//
// Two namespaces share the Op numbers: object operations, which act on a
// shared object's state (Lua methods and the pool's own protocol), and
// transport operations, which move bytes for a child (a pipe's socket, a
// message too large for it, the report of what a child holds). A transport
// operation has Kind "transport" and is no method of any kind.
//
// This package imports nothing of the project: host, child and vm all
// import it.
package ops

// Op numbers an operation; it is what travels on the call socket. Host and
// child are always the same build, so the numbers need not be stable.
type Op uint32

// The operations. The order is the table's; 0 is no operation.
const (
	None Op = iota

	LockAcquire
	LockRelease
	LockLocked

	SemaphoreAcquire
	SemaphoreRelease
	SemaphoreGetValue

	EventSet
	EventClear
	EventIsSet
	EventWait

	ConditionAcquire
	ConditionRelease
	ConditionWait
	ConditionNotify
	ConditionNotifyAll

	BarrierWait
	BarrierReset
	BarrierAbort
	BarrierParties
	BarrierNWaiting
	BarrierBroken

	QueuePut
	QueueGet
	QueueQsize
	QueueEmpty
	QueueFull
	QueueClose
	QueueTaskDone
	QueueJoin

	ConnectionSend
	ConnectionRecv
	ConnectionPoll
	ConnectionClose

	ValueGet
	ValueSet
	ValueAdd
	ValueAcquire
	ValueRelease

	PoolStart
	PoolBatch
	PoolSubmit
	PoolResult
	PoolNextDone
	PoolFinished
	PoolForget
	PoolClose
	PoolTerminate
	PoolJoin
	PoolNext
	PoolDoneNext
	PoolFunctionBytes

	TransportOpen
	TransportRelay
	TransportFetch
	TransportHolds

	// NumOps is the number of Ops, None included.
	NumOps
)

// Fields is a set of the named fields of vm.ObjectCall (an operation's
// arguments) or of vm.ObjectReply (its reply). ID, Kind and Op are in
// every call and not listed.
type Fields uint32

// The fields of a call and of a reply; each has one meaning wherever it
// appears.
const (
	Wait     Fields = 1 << iota // call: how long it may block
	Value                       // call and reply: an encoded Lua value, or a number
	Count                       // call: how many (Condition.notify's n, a pool task's items, a batch's items shown)
	Method                      // call: the Lua method a pool batch serves, its progress bar's label
	Batch                       // call and reply: a pool's batch of tasks
	Task                        // call and reply: a pool's task
	Func                        // call and reply: a pool's function id
	ErrText                     // call and reply: a task's error text
	Message                     // call: a held pipe message's number
	OK                          // reply: the boolean result
	Status                      // reply: the status ("timeout", "empty", ...)
	Result                      // reply: the integer result
	Lock                        // reply: the Lock or RLock acquired or released
	Maxsize                     // reply: a queue's maxsize
	FuncCode                    // reply: a pool function's encoded closure
	Ways                        // reply: which ways a pipe end goes
	Tally                       // reply: the id of a child's pipe tally
)

// Post says when a child may post a call (send it and not wait for the
// reply): when it cannot fail in a way the caller must see, and returns
// nothing the caller reads.
type Post uint8

// Posting rules.
const (
	Never        Post = iota //: the caller waits for the reply
	Always                   // nothing waits for it
	AfterSuccess             // once one call of this op on the object has succeeded (a pipe's send)
	WhenHeld                 // when this process holds the lock (a release: the host checks only that)
	WithoutSlot              // when the object's number is not in memory shared with the host
	Batched                  // kept in a batch of puts, when the queue is known to be unbounded
)

// Decl is one operation.
type Decl struct {
	Kind   string // the object's kind as the first of Kinds; "transport" for transport ops
	Name   string // the Lua method, or the protocol step
	Kinds  []string
	Args   Fields
	Reply  Fields
	Blocks bool // it may wait (for an item, a lock, a task)
	// Receives: it only takes what others sent (a get, a recv), so the
	// caller may report what it holds later (see vm's reportHoldsBefore).
	Receives bool
	Post     Post
	// Hold is what a successful call does to the caller's hold on the lock
	// named in the reply's Lock field: +1 an acquire, -1 a release.
	Hold int8
}

var (
	lock       = []string{"Lock", "RLock"}
	semaphore  = []string{"Semaphore", "BoundedSemaphore"}
	queue      = []string{"Queue", "JoinableQueue"}
	joinable   = []string{"JoinableQueue"}
	event      = []string{"Event"}
	condition  = []string{"Condition"}
	barrier    = []string{"Barrier"}
	connection = []string{"Connection"}
	value      = []string{"Value"}
	pool       = []string{"Pool"}
	transport  = []string{"transport"}
)

// Table is the declaration: one row per Op, None's empty.
var Table = [NumOps]Decl{
	LockAcquire: {Name: "acquire", Kinds: lock, Args: Wait, Reply: OK | Status | Lock, Blocks: true, Hold: +1},
	LockRelease: {Name: "release", Kinds: lock, Reply: Lock, Post: WhenHeld, Hold: -1},
	LockLocked:  {Name: "locked", Kinds: lock, Reply: OK},

	SemaphoreAcquire:  {Name: "acquire", Kinds: semaphore, Args: Wait, Reply: OK | Status, Blocks: true},
	SemaphoreRelease:  {Name: "release", Kinds: semaphore},
	SemaphoreGetValue: {Name: "get_value", Kinds: semaphore, Reply: Result},

	EventSet:   {Name: "set", Kinds: event, Post: Always},
	EventClear: {Name: "clear", Kinds: event},
	EventIsSet: {Name: "is_set", Kinds: event, Reply: OK},
	EventWait:  {Name: "wait", Kinds: event, Args: Wait, Reply: OK, Blocks: true},

	ConditionAcquire:   {Name: "acquire", Kinds: condition, Args: Wait, Reply: OK | Status | Lock, Blocks: true, Hold: +1},
	ConditionRelease:   {Name: "release", Kinds: condition, Reply: Lock, Post: WhenHeld, Hold: -1},
	ConditionWait:      {Name: "wait", Kinds: condition, Args: Wait, Reply: OK, Blocks: true},
	ConditionNotify:    {Name: "notify", Kinds: condition, Args: Count},
	ConditionNotifyAll: {Name: "notify_all", Kinds: condition},

	BarrierWait:     {Name: "wait", Kinds: barrier, Args: Wait, Reply: Result, Blocks: true},
	BarrierReset:    {Name: "reset", Kinds: barrier},
	BarrierAbort:    {Name: "abort", Kinds: barrier},
	BarrierParties:  {Name: "parties", Kinds: barrier, Reply: Result},
	BarrierNWaiting: {Name: "n_waiting", Kinds: barrier, Reply: Result},
	BarrierBroken:   {Name: "broken", Kinds: barrier, Reply: OK},

	QueuePut:      {Name: "put", Kinds: queue, Args: Wait | Value, Reply: OK | Status | Maxsize, Blocks: true, Post: Batched},
	QueueGet:      {Name: "get", Kinds: queue, Args: Wait, Reply: OK | Status | Value, Blocks: true, Receives: true},
	QueueQsize:    {Name: "qsize", Kinds: queue, Reply: Result},
	QueueEmpty:    {Name: "empty", Kinds: queue, Reply: OK},
	QueueFull:     {Name: "full", Kinds: queue, Reply: OK},
	QueueClose:    {Name: "close", Kinds: queue},
	QueueTaskDone: {Name: "task_done", Kinds: joinable},
	QueueJoin:     {Name: "join", Kinds: joinable, Blocks: true},

	ConnectionSend:  {Name: "send", Kinds: connection, Args: Value, Blocks: true, Post: AfterSuccess},
	ConnectionRecv:  {Name: "recv", Kinds: connection, Args: Wait, Reply: OK | Status | Value, Blocks: true, Receives: true},
	ConnectionPoll:  {Name: "poll", Kinds: connection, Args: Wait, Reply: OK, Blocks: true},
	ConnectionClose: {Name: "close", Kinds: connection},

	ValueGet:     {Name: "get", Kinds: value, Reply: OK | Value, Receives: true},
	ValueSet:     {Name: "set", Kinds: value, Args: Value, Post: WithoutSlot},
	ValueAdd:     {Name: "add", Kinds: value, Args: Value, Reply: Value},
	ValueAcquire: {Name: "acquire", Kinds: value, Args: Wait, Reply: OK | Status | Lock, Blocks: true, Hold: +1},
	ValueRelease: {Name: "release", Kinds: value, Reply: Lock, Post: WhenHeld, Hold: -1},

	PoolStart:         {Name: "start", Kinds: pool, Args: Value},
	PoolBatch:         {Name: "batch", Kinds: pool, Args: Value | Method | Count, Reply: Batch | Func},
	PoolSubmit:        {Name: "submit", Kinds: pool, Args: Batch | Func | Value | Count, Reply: Task},
	PoolResult:        {Name: "result", Kinds: pool, Args: Task | Wait, Reply: OK | Status | Task | ErrText | Value, Blocks: true},
	PoolNextDone:      {Name: "next_done", Kinds: pool, Args: Batch | Wait, Reply: OK | Status | Task | ErrText | Value, Blocks: true},
	PoolFinished:      {Name: "finished", Kinds: pool, Args: Value, Reply: OK | Value},
	PoolForget:        {Name: "forget", Kinds: pool, Args: Batch},
	PoolClose:         {Name: "close", Kinds: pool},
	PoolTerminate:     {Name: "terminate", Kinds: pool},
	PoolJoin:          {Name: "join", Kinds: pool, Blocks: true},
	PoolNext:          {Name: "next", Kinds: pool, Args: Wait, Reply: OK | Status | Task | Func | FuncCode | Value, Blocks: true},
	PoolDoneNext:      {Name: "done_next", Kinds: pool, Args: Task | ErrText | Value | Wait, Reply: OK | Status | Task | Func | FuncCode | Value, Blocks: true},
	PoolFunctionBytes: {Name: "function_bytes", Kinds: pool, Args: Func, Reply: OK | FuncCode},

	TransportOpen:  {Name: "open", Kinds: transport, Reply: OK | Ways | Tally},
	TransportRelay: {Name: "relay", Kinds: transport, Args: Value, Blocks: true, Post: Always},
	TransportFetch: {Name: "fetch", Kinds: transport, Args: Message, Reply: OK | Status | Value},
	TransportHolds: {Name: "holds", Kinds: transport, Args: Value, Post: Always},
}

// byName finds an object operation by kind and name.
var byName = func() map[string]Op {
	m := make(map[string]Op)
	for op := None + 1; op < NumOps; op++ {
		d := &Table[op]
		d.Kind = d.Kinds[0]
		for _, kind := range d.Kinds {
			m[kind+"."+d.Name] = op
		}
	}
	return m
}()

// Find returns the operation name of an object of kind; ok is false when
// the kind has none of that name.
func Find(kind, name string) (op Op, ok bool) {
	op, ok = byName[kind+"."+name]
	return op, ok
}

// Of returns the operation name of an object of kind, which must be
// declared: the bindings name their operations in code.
func Of(kind, name string) Op {
	op, ok := Find(kind, name)
	if !ok {
		panic("ops: no operation " + kind + "." + name + " is declared")
	}
	return op
}

// Decl returns op's row.
func (op Op) Decl() *Decl {
	if op >= NumOps {
		return &Table[None]
	}
	return &Table[op]
}

// String is the operation as a script's error names it: "Queue.put".
func (op Op) String() string {
	if op == None || op >= NumOps {
		return "no operation"
	}
	d := &Table[op]
	return d.Kind + "." + d.Name
}

// Has reports whether f holds every field of g.
func (f Fields) Has(g Fields) bool { return f&g == g }
