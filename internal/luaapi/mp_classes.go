package luaapi

// classes are the classes of the objects mp gives scripts, in the order
// of the API reference.
var classes = []Class{
	processClass,
	lockClass("Lock", "lock", "A lock shared by every process.", lockedMethod),
	lockClass("RLock", "lock", "A lock that its holder may acquire again.", lockedMethod),
	lockClass("Semaphore", "semaphore", "A counter of permits shared by every process.", getValueMethod),
	{Name: "BoundedSemaphore", Self: "sem", Extends: "Semaphore", Doc: "A semaphore that raises when released above its initial value.",
		Details: "Releasing it above its initial value raises `BoundedSemaphore.release: released more times than acquired`."},
	{Name: "Event", Self: "event", Doc: "A flag that processes set, clear and wait for.", Methods: []Func{
		{Name: "set", Doc: "Sets the flag and wakes every waiter."},
		{Name: "clear", Doc: "Clears the flag."},
		{Name: "is_set", Doc: "Returns whether the flag is set.", Returns: []Return{{Type: "boolean"}}},
		{Name: "wait", Doc: "Waits until the flag is set; false on timeout.",
			Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
	}},
	{Name: "Condition", Self: "cond", Doc: "A condition variable: wait for a notify while holding its lock.", Methods: append(lockMethods("Condition", "condition's lock", "Condition.release: cannot release what this process does not hold"), []Func{
		{Name: "wait", Doc: "Releases the lock, waits for a notify, acquires it again; false on timeout.",
			Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}},
			Raises: []string{"Condition.wait: the condition's lock is not held by this process"}},
		{Name: "wait_for", Doc: "Waits until pred() is true or the timeout passes, and returns pred's last result.", Op: "Condition.wait",
			Params: []Param{{Name: "pred", Type: "function"}, timeoutParam("")}, Returns: []Return{{Type: "any"}},
			Details: "It calls `pred()` first, then again after each notify, until it returns true or the timeout passes."},
		{Name: "notify", Doc: "Wakes up to n waiters.",
			Params: []Param{{Name: "n", Type: "integer", Optional: true, Default: "1"}},
			Raises: []string{"Condition.notify: the condition's lock is not held by this process"}},
		{Name: "notify_all", Doc: "Wakes every waiter."},
	}...)},
	{Name: "Barrier", Self: "barrier", Doc: "A meeting point for a fixed number of processes.", Methods: []Func{
		{Name: "wait", Doc: "Waits until parties processes wait, and returns this one's index, 0 to parties-1; raises if the barrier breaks.",
			Params: []Param{timeoutParam("default: the barrier's own timeout")}, Returns: []Return{{Type: "integer"}},
			Details: "A wait that times out breaks the barrier, as do `abort()`, `reset()` and the death of a process waiting: every waiter raises.",
			Raises:  []string{"Barrier.wait: the barrier is broken"}},
		{Name: "reset", Doc: "Returns the barrier to its initial state; waiters see it broken."},
		{Name: "abort", Doc: "Breaks the barrier: waits now and later raise."},
	}, Details: "Its fields read the live state.", Fields: []Field{
		{Name: "parties", Type: "integer", ReadOnly: true, Doc: "the number of processes that must wait"},
		{Name: "n_waiting", Type: "integer", ReadOnly: true, Doc: "the number of processes waiting now"},
		{Name: "broken", Type: "boolean", ReadOnly: true, Doc: "whether the barrier is broken"},
	}},
	{Name: "Queue", Self: "q", Doc: "A FIFO queue shared by every process.", Methods: []Func{
		{Name: "put", Doc: "Puts item (not nil); false, \"full\" when a bounded queue stays full.",
			Params:  append([]Param{{Name: "item", Type: "any", NotNil: true, Doc: "any value that can cross processes"}}, blockParams()...),
			Returns: okStatus(`"full"`),
			Details: "An item that cannot cross processes raises too (see What crosses processes).",
			Raises:  []string{"Queue.put: cannot put nil", "Queue.put: the queue is closed"}},
		{Name: "get", Doc: "Takes the next item; nil, \"empty\" on timeout, nil, \"closed\" once closed and drained.",
			Params: blockParams(), Returns: itemStatus(`"empty"|"closed"`)},
		{Name: "put_nowait", Doc: "Puts item without waiting; false, \"full\" when the queue is full.", Op: "Queue.put", NoWait: true,
			Params: []Param{{Name: "item", Type: "any", NotNil: true}}, Returns: okStatus(`"full"`)},
		{Name: "get_nowait", Doc: "Takes the next item without waiting; nil, \"empty\" when there is none.", Op: "Queue.get", NoWait: true,
			Returns: itemStatus(`"empty"|"closed"`)},
		{Name: "qsize", Doc: "Returns the number of items in the queue.", Returns: []Return{{Type: "integer"}}},
		{Name: "empty", Doc: "Returns whether the queue is empty.", Returns: []Return{{Type: "boolean"}}},
		{Name: "full", Doc: "Returns whether a bounded queue is full.", Returns: []Return{{Type: "boolean"}}},
		{Name: "close", Doc: "Closes the queue: put raises from now on, get drains what is left."},
	}},
	{Name: "JoinableQueue", Self: "q", Extends: "Queue", Doc: "A queue whose consumers mark items done.", Methods: []Func{
		{Name: "task_done", Doc: "Marks one item taken from the queue as done.",
			Raises: []string{"JoinableQueue.task_done: task_done() called too many times (more than items put)"}},
		{Name: "join", Doc: "Waits until every item put has been marked done."},
	}},
	{Name: "Connection", Self: "conn", Doc: "One end of a pipe.", Methods: []Func{
		{Name: "send", Doc: "Sends a copy of v to the other end.", Params: []Param{{Name: "v", Type: "any"}},
			Details: "It waits only while the pipe holds its capacity of unread data.",
			Raises:  []string{"Connection.send: this end of a one-way pipe only receives", "Connection.send: the connection is closed"}},
		{Name: "recv", Doc: "Waits for a message and returns it; nil, \"closed\" once the other end is closed and nothing is left.",
			Returns: itemStatus(`"closed"`),
			Raises:  []string{"Connection.recv: this end of a one-way pipe only sends"}},
		{Name: "send_bytes", Doc: "Sends the string s as it is.", Op: "Connection.send", Params: []Param{{Name: "s", Type: "string"}}},
		{Name: "recv_bytes", Doc: "Waits for a message and returns it as a string; nil, \"closed\" as recv.", Op: "Connection.recv",
			Returns: []Return{{Type: "string", Optional: true}, {Name: "status", Type: `"closed"`, Optional: true}},
			Details: "A message sent with `send` comes as its encoded bytes."},
		{Name: "poll", Doc: "Returns whether a message is waiting, waiting up to timeout (default: not at all).",
			Params: []Param{{Name: "timeout", Type: "number", Optional: true, Default: "0", Doc: "seconds; nil does not wait"}}, Returns: []Return{{Type: "boolean"}}},
		{Name: "close", Doc: "Closes this process's hold on this end."},
	}},
	{Name: "Value", Self: "v", Doc: "A value shared by every process.", Methods: []Func{
		{Name: "get", Doc: "Returns a copy of the value.", Returns: []Return{{Type: "any"}}},
		{Name: "set", Doc: "Replaces the value with a copy of v.", Params: []Param{{Name: "v", Type: "any"}}},
		{Name: "add", Doc: "Adds n to a number atomically and returns the new value.",
			Params: []Param{{Name: "n", Type: "number"}}, Returns: []Return{{Type: "number"}},
			Raises: []string{"Value.add: the value is not a number"}},
		withMethod("Value", "the value's own lock"),
	}},
	poolClass,
	{Name: "AsyncResult", Self: "result", Doc: "The result of an apply_async or map_async, to come.", Methods: []Func{
		{Name: "get", Doc: "Waits for the result and returns it, raising the task's error; nil, \"timeout\" on timeout.", Op: "Pool.result",
			Params: []Param{timeoutParam("")}, Returns: itemStatus(`"timeout"`)},
		{Name: "wait", Doc: "Waits for the result; false on timeout.", Op: "Pool.result",
			Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
		{Name: "ready", Doc: "Returns whether the result has come.", Op: "Pool.result", NoWait: true, Returns: []Return{{Type: "boolean"}}},
		{Name: "successful", Doc: "Returns whether the task succeeded; raises if it is not ready.", Op: "Pool.result", NoWait: true, Returns: []Return{{Type: "boolean"}},
			Raises: []string{"AsyncResult.successful: the result is not ready"}},
	}},
}

var processClass = Class{
	Name: "Process",
	Self: "p",
	Doc:  "A process running a Lua function in a child; extend it to override run.",
	Constructor: &Func{Name: "Process", Doc: "Makes a process object, not yet started.",
		Params:  []Param{{Name: "opts", Type: "mp.ProcessOptions", Optional: true}},
		Returns: []Return{{Type: "mp.Process"}},
		Raises:  []string{`Process: no option "bogus" (options: target, args, kwargs, name, daemon, memory_limit)`}},
	Methods: []Func{
		{Name: "init", Doc: "Sets the object up from the options mp.Process{...} takes; a subclass's init calls it.",
			Params: []Param{{Name: "opts", Type: "mp.ProcessOptions", Optional: true}}},
		{Name: "start", Doc: "Starts the process in a new child; a process starts once.",
			Details: "What the child gets (the object, its class and fields, target, arguments) must be able to cross processes.",
			Raises:  []string{"Process.start: a process can only be started once"}},
		{Name: "join", Doc: "Waits for the process to end; false on timeout.", Waits: true,
			Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}},
			Details: "It returns true once the process has ended.",
			Raises:  []string{"Process.join: a process cannot join itself"}},
		{Name: "is_alive", Doc: "Returns whether the process has started and not ended.", Returns: []Return{{Type: "boolean"}}},
		{Name: "terminate", Doc: "Sends the process SIGTERM.", Details: "It does nothing once the process has ended."},
		{Name: "kill", Doc: "Sends the process SIGKILL.", Details: "It does nothing once the process has ended."},
		{Name: "close", Doc: "Frees the process object; raises while the process runs.",
			Raises: []string{"Process.close: the process is still running"}},
		{Name: "run", Doc: "What the child runs; by default target(unpack(args)), kwargs last."},
		{Name: "extend", Doc: "Returns a subclass: its objects are processes whose init and run it may override.",
			Returns: []Return{{Type: "mp.Process"}}},
	},
	Details: "Fields read the live state. `exitcode` is -SIG after a signal (-15, -9), and -9 when the process passed its " +
		"memory limit. After `close()`, `is_alive`, `join` and every field but `name` raise " +
		"(`Process.pid: the process object is closed`).",
	Fields: []Field{
		{Name: "pid", Type: "integer", Optional: true, ReadOnly: true, Doc: "the OS process id; nil before start"},
		{Name: "name", Type: "string", Doc: "the process's name; Process-N by default"},
		{Name: "daemon", Type: "boolean", Doc: "whether the process ends with its parent; set it before start"},
		{Name: "exitcode", Type: "integer", Optional: true, ReadOnly: true,
			Doc: "nil while running; 0, 1 after an error, N after os.exit(N), -SIG after a signal"},
	},
}

var poolClass = Class{Name: "Pool", Self: "pool", Doc: "A pool of worker processes that run tasks.", Methods: []Func{
	{Name: "map", Doc: "Runs f on each item in the workers and returns the results in order.", Op: "Pool.result",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "any[]"}}},
	{Name: "starmap", Doc: "Runs f(unpack(arglist)) for each arglist and returns the results in order.", Op: "Pool.result",
		Params: append(funcItems("arglists"), chunksizeParam), Returns: []Return{{Type: "any[]"}}},
	{Name: "imap", Doc: "Returns an iterator over the results in order; a nil result ends a for loop.", Op: "Pool.result",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "fun(): any"}},
		Details: "Use it as `for v in pool:imap(f, items) do ... end`."},
	{Name: "imap_unordered", Doc: "Returns an iterator over the results as they finish.", Op: "Pool.next_done",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "fun(): any"}}},
	{Name: "apply", Doc: "Runs f(unpack(args)) in a worker and returns its first result.", Op: "Pool.result",
		Params: []Param{{Name: "f", Type: "function"}, argsParam}, Returns: []Return{{Type: "any"}}},
	{Name: "apply_async", Doc: "Runs f(unpack(args)) in a worker; the result comes later.",
		Params:  []Param{{Name: "f", Type: "function"}, argsParam, callbackParam, errorCallbackParam},
		Returns: []Return{{Type: "mp.AsyncResult"}}},
	{Name: "map_async", Doc: "Runs f on each item in the workers; the list of results comes later.",
		Params:  append(funcItems("items"), chunksizeParam, callbackParam, errorCallbackParam),
		Returns: []Return{{Type: "mp.AsyncResult"}}},
	{Name: "close", Doc: "Takes no more tasks; the workers end once the tasks given are done."},
	{Name: "terminate", Doc: "Ends the workers now."},
	{Name: "join", Doc: "Waits for the workers to end, after close or terminate.",
		Raises: []string{"Pool.join: pool is still running"}},
}, Details: "Any call but `join` on a closed pool raises (`Pool.map: the pool is closed`)."}

// The parameters and methods that several classes share.
var (
	chunksizeParam     = Param{Name: "chunksize", Type: "integer", Optional: true, Doc: "items per task; default about four tasks per worker"}
	argsParam          = Param{Name: "args", Type: "table", Optional: true, Doc: "f's arguments"}
	callbackParam      = Param{Name: "callback", Type: "function", Optional: true, Doc: "called with the result, in this process"}
	errorCallbackParam = Param{Name: "error_callback", Type: "function", Optional: true, Doc: "called with the error, in this process"}
	lockedMethod       = Func{Name: "locked", Doc: "Returns whether some process holds the lock.", Returns: []Return{{Type: "boolean"}}}
	getValueMethod     = Func{Name: "get_value", Doc: "Returns the number of permits free.", Returns: []Return{{Type: "integer"}}}
)

// timeoutParam is the optional timeout in seconds that waits take; nil
// waits forever, and a negative one does not wait.
func timeoutParam(doc string) Param {
	if doc == "" {
		doc = "seconds; nil waits forever"
	}
	return Param{Name: "timeout", Type: "number", Optional: true, Doc: doc}
}

// blockParams are Python's (block=true, timeout=nil) pair.
func blockParams() []Param {
	return []Param{{Name: "block", Type: "boolean", Optional: true, Default: "true", Doc: "false: do not wait"}, timeoutParam("")}
}

// funcItems are a pool method's function and its list.
func funcItems(list string) []Param {
	return []Param{{Name: "f", Type: "function"}, {Name: list, Type: "table"}}
}

// okStatus is the result of a wait that may fail: true, or false and why.
func okStatus(status string) []Return {
	return []Return{{Name: "ok", Type: "boolean"}, {Name: "status", Type: status, Optional: true}}
}

// itemStatus is the result of a wait for a value: the value, or nil and why.
func itemStatus(status string) []Return {
	return []Return{{Name: "value", Type: "any"}, {Name: "status", Type: status, Optional: true}}
}

// withMethod is x:with(f, ...) of kind, which holds what is named around
// f: it waits in kind's acquire.
func withMethod(kind, held string) Func {
	return Func{Name: "with", Doc: "Holds " + held + " around f(...), releasing it even when f raises, and returns f's results.",
		Op:      kind + ".acquire",
		Params:  []Param{{Name: "f", Type: "function"}, {Name: "...", Type: "any"}},
		Returns: []Return{{Name: "...", Type: "any"}},
		Details: "`f` runs as `pcall` would run it, and its error is raised again after the release (Python's `with lock:`)."}
}

// lockMethods are acquire, release and with of kind, which the locks, the
// semaphores and Condition share. Held names what they hold: "lock",
// "semaphore".
func lockMethods(kind, held string, releaseRaises ...string) []Func {
	return []Func{
		{Name: "acquire", Doc: "Acquires the " + held + "; true, \"abandoned\" when a holder died holding it; false on timeout.",
			Params: blockParams(), Returns: okStatus(`"abandoned"`),
			Details: "It returns false too when `block` is false and the " + held + " is taken. When a process dies, the host " +
				"releases what it held (Lock, RLock, semaphore permits): the next acquire gets `true, \"abandoned\"`. " +
				"Waiters are not served in order: a process that finds the " + held + " free takes it, even before " +
				"one that has waited longer (it lives in memory every process maps, see design.md); a wait still ends at its timeout."},
		{Name: "release", Doc: "Releases the " + held + ".", Raises: releaseRaises},
		withMethod(kind, "the "+held),
	}
}

// lockClass is a lock-like class: the shared methods and one of its own.
func lockClass(name, held, doc string, own Func) Class {
	self, raises := "lock", []string{name + ".release: cannot release what this process does not hold"}
	if held == "semaphore" {
		self, raises = "sem", nil
	}
	return Class{Name: name, Self: self, Doc: doc, Methods: append(lockMethods(name, held, raises...), own)}
}
