package luaapi

// MP is the Lua surface of the `mp` module, as docs/api.md (the API
// reference) describes it and internal/vm binds it.
var MP = Module{
	Name: "mp",
	Doc:  "Python-style multiprocessing for Lua: processes, shared objects and pools that the mphost host owns.",
	Funcs: []Func{
		{Name: "cpu_count", Doc: "Returns the number of CPUs Go sees.",
			Returns: []Return{{Type: "integer"}}},
		{Name: "sleep", Doc: "Sleeps for seconds, running pending pool callbacks first; interruptible.",
			Params: []Param{{Name: "seconds", Type: "number", Doc: "how long, in seconds (fractions allowed)"}}},
		{Name: "current_process", Doc: "Returns this process's own Process object (name MainProcess in the main script).",
			Returns: []Return{{Type: "mp.Process"}}},
		{Name: "parent_process", Doc: "Returns the Process object of the process that started this one; nil in the main script.",
			Returns: []Return{{Type: "mp.Process", Optional: true}}},
		{Name: "active_children", Doc: "Returns the live children that this process started, the same objects.",
			Returns: []Return{{Type: "mp.Process[]"}}},

		{Name: "Lock", Doc: "Makes a lock shared by every process.",
			Returns: []Return{{Type: "mp.Lock"}}},
		{Name: "RLock", Doc: "Makes a lock that the process holding it may acquire again (reentrant per process).",
			Returns: []Return{{Type: "mp.RLock"}}},
		{Name: "Semaphore", Doc: "Makes a semaphore with value permits.",
			Params:  []Param{{Name: "value", Type: "integer", Optional: true, Default: "1", Doc: "the permits, at least 0"}},
			Returns: []Return{{Type: "mp.Semaphore"}}},
		{Name: "BoundedSemaphore", Doc: "Makes a semaphore that raises when released above its initial value.",
			Params:  []Param{{Name: "value", Type: "integer", Optional: true, Default: "1", Doc: "the permits, at least 0"}},
			Returns: []Return{{Type: "mp.BoundedSemaphore"}}},
		{Name: "Event", Doc: "Makes an event, initially clear.",
			Returns: []Return{{Type: "mp.Event"}}},
		{Name: "Condition", Doc: "Makes a condition variable over lock (an RLock of its own by default).",
			Params:  []Param{{Name: "lock", Type: "mp.Lock|mp.RLock", Optional: true}},
			Returns: []Return{{Type: "mp.Condition"}}},
		{Name: "Barrier", Doc: "Makes a barrier for parties processes; timeout bounds each wait that gives none.",
			Params: []Param{
				{Name: "parties", Type: "integer", Doc: "how many waits release the barrier, at least 1"},
				timeoutParam("the default timeout of wait, in seconds"),
			},
			Returns: []Return{{Type: "mp.Barrier"}}},
		{Name: "Queue", Doc: "Makes a FIFO queue; maxsize 0 (or less) is unbounded.",
			Params:  []Param{{Name: "maxsize", Type: "integer", Optional: true, Default: "0"}},
			Returns: []Return{{Type: "mp.Queue"}}},
		{Name: "JoinableQueue", Doc: "Makes a queue whose join waits until every item put has been marked done.",
			Params:  []Param{{Name: "maxsize", Type: "integer", Optional: true, Default: "0"}},
			Returns: []Return{{Type: "mp.JoinableQueue"}}},
		{Name: "Pipe", Doc: "Makes a pipe and returns its two ends; with duplex false, the first only receives, the second only sends.",
			Params: []Param{{Name: "duplex", Type: "boolean|mp.PipeOptions", Optional: true, Default: "true",
				Doc: "two-way, or an options table"}},
			Returns: []Return{{Name: "a", Type: "mp.Connection"}, {Name: "b", Type: "mp.Connection"}}},
		{Name: "Value", Doc: "Makes a shared value holding a copy of initial.",
			Params:  []Param{{Name: "initial", Type: "any", Doc: "any value that can cross processes"}},
			Returns: []Return{{Type: "mp.Value"}}},
		{Name: "Pool", Doc: "Makes a pool of long-lived worker processes.",
			Params: []Param{{Name: "processes", Type: "integer|mp.PoolOptions", Optional: true,
				Doc: "the number of workers (default mp.cpu_count()), or an options table"}},
			Returns: []Return{{Type: "mp.Pool"}}},
	},
	Records: []Record{
		{Name: "ProcessOptions", Doc: "What mp.Process{...} and Process.init take.", Fields: []Field{
			{Name: "target", Type: "function", Optional: true, Doc: "runs in the child as target(unpack(args)), kwargs last when given"},
			{Name: "args", Type: "table", Optional: true, Doc: "the target's arguments, sent as deep copies"},
			{Name: "kwargs", Type: "table", Optional: true, Doc: "passed as one extra last argument when given"},
			{Name: "name", Type: "string", Optional: true, Doc: "default Process-N, N counting up per parent"},
			{Name: "daemon", Type: "boolean", Optional: true, Doc: "ended when its parent ends"},
			{Name: "memory_limit", Type: "string|integer", Optional: true, Doc: `the process's memory bound: "512MB", "1.5 GB" or bytes`},
		}},
		{Name: "PoolOptions", Doc: "What mp.Pool{...} takes.", Fields: []Field{
			{Name: "processes", Type: "integer", Optional: true, Doc: "the number of workers, at least 1; default mp.cpu_count()"},
			{Name: "initializer", Type: "function", Optional: true, Doc: "runs once in each worker as initializer(unpack(initargs))"},
			{Name: "initargs", Type: "table", Optional: true, Doc: "the initializer's arguments"},
			{Name: "maxtasksperchild", Type: "integer", Optional: true, Doc: "tasks a worker's OS process runs before it is replaced"},
			{Name: "task_timeout", Type: "number", Optional: true, Doc: "seconds a task may run before its worker is killed and the task fails"},
			{Name: "memory_limit", Type: "string|integer", Optional: true, Doc: "each worker's memory bound, as a Process's"},
			{Name: "progress", Type: "boolean", Optional: true, Doc: "draw a progress bar on stderr when it is a terminal"},
		}},
		{Name: "PipeOptions", Doc: "What mp.Pipe{...} takes.", Fields: []Field{
			{Name: "duplex", Type: "boolean", Optional: true, Doc: "two-way (default true)"},
			{Name: "capacity", Type: "integer", Optional: true, Doc: "bytes of unread data a direction holds before send waits (default 64 MB)"},
		}},
	},
	Classes: []Class{
		processClass,
		lockClass("Lock", "lock", "A lock shared by every process.", lockedMethod),
		lockClass("RLock", "lock", "A lock that its holder may acquire again.", lockedMethod),
		lockClass("Semaphore", "semaphore", "A counter of permits shared by every process.", getValueMethod),
		{Name: "BoundedSemaphore", Extends: "Semaphore", Doc: "A semaphore that raises when released above its initial value."},
		{Name: "Event", Doc: "A flag that processes set, clear and wait for.", Methods: []Func{
			{Name: "set", Doc: "Sets the flag and wakes every waiter."},
			{Name: "clear", Doc: "Clears the flag."},
			{Name: "is_set", Doc: "Returns whether the flag is set.", Returns: []Return{{Type: "boolean"}}},
			{Name: "wait", Doc: "Waits until the flag is set; false on timeout.",
				Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
		}},
		{Name: "Condition", Doc: "A condition variable: wait for a notify while holding its lock.", Methods: append(lockMethods("condition's lock"), []Func{
			{Name: "wait", Doc: "Releases the lock, waits for a notify, acquires it again; false on timeout.",
				Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
			{Name: "wait_for", Doc: "Waits until pred() is true or the timeout passes, and returns pred's last result.",
				Params: []Param{{Name: "pred", Type: "function"}, timeoutParam("")}, Returns: []Return{{Type: "any"}}},
			{Name: "notify", Doc: "Wakes up to n waiters.",
				Params: []Param{{Name: "n", Type: "integer", Optional: true, Default: "1"}}},
			{Name: "notify_all", Doc: "Wakes every waiter."},
		}...)},
		{Name: "Barrier", Doc: "A meeting point for a fixed number of processes.", Methods: []Func{
			{Name: "wait", Doc: "Waits until parties processes wait, and returns this one's index, 0 to parties-1; raises if the barrier breaks.",
				Params: []Param{timeoutParam("default: the barrier's own timeout")}, Returns: []Return{{Type: "integer"}}},
			{Name: "reset", Doc: "Returns the barrier to its initial state; waiters see it broken."},
			{Name: "abort", Doc: "Breaks the barrier: waits now and later raise."},
		}, Fields: []Field{
			{Name: "parties", Type: "integer", ReadOnly: true, Doc: "the number of processes that must wait"},
			{Name: "n_waiting", Type: "integer", ReadOnly: true, Doc: "the number of processes waiting now"},
			{Name: "broken", Type: "boolean", ReadOnly: true, Doc: "whether the barrier is broken"},
		}},
		{Name: "Queue", Doc: "A FIFO queue shared by every process.", Methods: []Func{
			{Name: "put", Doc: "Puts item (not nil); false, \"full\" when a bounded queue stays full.",
				Params:  append([]Param{{Name: "item", Type: "any"}}, blockParams()...),
				Returns: okStatus(`"full"`)},
			{Name: "get", Doc: "Takes the next item; nil, \"empty\" on timeout, nil, \"closed\" once closed and drained.",
				Params: blockParams(), Returns: itemStatus(`"empty"|"closed"`)},
			{Name: "put_nowait", Doc: "Puts item without waiting; false, \"full\" when the queue is full.",
				Params: []Param{{Name: "item", Type: "any"}}, Returns: okStatus(`"full"`)},
			{Name: "get_nowait", Doc: "Takes the next item without waiting; nil, \"empty\" when there is none.",
				Returns: itemStatus(`"empty"|"closed"`)},
			{Name: "qsize", Doc: "Returns the number of items in the queue.", Returns: []Return{{Type: "integer"}}},
			{Name: "empty", Doc: "Returns whether the queue is empty.", Returns: []Return{{Type: "boolean"}}},
			{Name: "full", Doc: "Returns whether a bounded queue is full.", Returns: []Return{{Type: "boolean"}}},
			{Name: "close", Doc: "Closes the queue: put raises from now on, get drains what is left."},
		}},
		{Name: "JoinableQueue", Extends: "Queue", Doc: "A queue whose consumers mark items done.", Methods: []Func{
			{Name: "task_done", Doc: "Marks one item taken from the queue as done."},
			{Name: "join", Doc: "Waits until every item put has been marked done."},
		}},
		{Name: "Connection", Doc: "One end of a pipe.", Methods: []Func{
			{Name: "send", Doc: "Sends a copy of v to the other end.", Params: []Param{{Name: "v", Type: "any"}}},
			{Name: "recv", Doc: "Waits for a message and returns it; nil, \"closed\" once the other end is closed and nothing is left.",
				Returns: itemStatus(`"closed"`)},
			{Name: "send_bytes", Doc: "Sends the string s as it is.", Params: []Param{{Name: "s", Type: "string"}}},
			{Name: "recv_bytes", Doc: "Waits for a message and returns it as a string; nil, \"closed\" as recv.",
				Returns: []Return{{Type: "string", Optional: true}, {Name: "status", Type: `"closed"`, Optional: true}}},
			{Name: "poll", Doc: "Returns whether a message is waiting, waiting up to timeout (default: not at all).",
				Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
			{Name: "close", Doc: "Closes this process's hold on this end."},
		}},
		{Name: "Value", Doc: "A value shared by every process.", Methods: []Func{
			{Name: "get", Doc: "Returns a copy of the value.", Returns: []Return{{Type: "any"}}},
			{Name: "set", Doc: "Replaces the value with a copy of v.", Params: []Param{{Name: "v", Type: "any"}}},
			{Name: "add", Doc: "Adds n to a number atomically and returns the new value.",
				Params: []Param{{Name: "n", Type: "number"}}, Returns: []Return{{Type: "number"}}},
			withMethod("the value's own lock"),
		}},
		poolClass,
		{Name: "AsyncResult", Doc: "The result of an apply_async or map_async, to come.", Methods: []Func{
			{Name: "get", Doc: "Waits for the result and returns it, raising the task's error; nil, \"timeout\" on timeout.",
				Params: []Param{timeoutParam("")}, Returns: itemStatus(`"timeout"`)},
			{Name: "wait", Doc: "Waits for the result; false on timeout.",
				Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
			{Name: "ready", Doc: "Returns whether the result has come.", Returns: []Return{{Type: "boolean"}}},
			{Name: "successful", Doc: "Returns whether the task succeeded; raises if it is not ready.", Returns: []Return{{Type: "boolean"}}},
		}},
	},
}

var processClass = Class{
	Name: "Process",
	Doc:  "A process running a Lua function in a child; extend it to override run.",
	Constructor: &Func{Name: "Process", Doc: "Makes a process object, not yet started.",
		Params:  []Param{{Name: "opts", Type: "mp.ProcessOptions", Optional: true}},
		Returns: []Return{{Type: "mp.Process"}}},
	Methods: []Func{
		{Name: "init", Doc: "Sets the object up from the options mp.Process{...} takes; a subclass's init calls it.",
			Params: []Param{{Name: "opts", Type: "mp.ProcessOptions", Optional: true}}},
		{Name: "start", Doc: "Starts the process in a new child; a process starts once."},
		{Name: "join", Doc: "Waits for the process to end; false on timeout.",
			Params: []Param{timeoutParam("")}, Returns: []Return{{Type: "boolean"}}},
		{Name: "is_alive", Doc: "Returns whether the process has started and not ended.", Returns: []Return{{Type: "boolean"}}},
		{Name: "terminate", Doc: "Sends the process SIGTERM."},
		{Name: "kill", Doc: "Sends the process SIGKILL."},
		{Name: "close", Doc: "Frees the process object; raises while the process runs."},
		{Name: "run", Doc: "What the child runs; by default target(unpack(args)), kwargs last."},
		{Name: "extend", Doc: "Returns a subclass: its objects are processes whose init and run it may override.",
			Returns: []Return{{Type: "mp.Process"}}},
	},
	Fields: []Field{
		{Name: "pid", Type: "integer", Optional: true, ReadOnly: true, Doc: "the OS process id; nil before start"},
		{Name: "name", Type: "string", Doc: "the process's name; Process-N by default"},
		{Name: "daemon", Type: "boolean", Doc: "whether the process ends with its parent; set it before start"},
		{Name: "exitcode", Type: "integer", Optional: true, ReadOnly: true,
			Doc: "nil while running; 0, 1 after an error, N after os.exit(N), -SIG after a signal"},
	},
}

var poolClass = Class{Name: "Pool", Doc: "A pool of worker processes that run tasks.", Methods: []Func{
	{Name: "map", Doc: "Runs f on each item in the workers and returns the results in order.",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "any[]"}}},
	{Name: "starmap", Doc: "Runs f(unpack(arglist)) for each arglist and returns the results in order.",
		Params: append(funcItems("arglists"), chunksizeParam), Returns: []Return{{Type: "any[]"}}},
	{Name: "imap", Doc: "Returns an iterator over the results in order; a nil result ends a for loop.",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "fun(): any"}}},
	{Name: "imap_unordered", Doc: "Returns an iterator over the results as they finish.",
		Params: append(funcItems("items"), chunksizeParam), Returns: []Return{{Type: "fun(): any"}}},
	{Name: "apply", Doc: "Runs f(unpack(args)) in a worker and returns its first result.",
		Params: []Param{{Name: "f", Type: "function"}, argsParam}, Returns: []Return{{Type: "any"}}},
	{Name: "apply_async", Doc: "Runs f(unpack(args)) in a worker; the result comes later.",
		Params:  []Param{{Name: "f", Type: "function"}, argsParam, callbackParam, errorCallbackParam},
		Returns: []Return{{Type: "mp.AsyncResult"}}},
	{Name: "map_async", Doc: "Runs f on each item in the workers; the list of results comes later.",
		Params:  append(funcItems("items"), chunksizeParam, callbackParam, errorCallbackParam),
		Returns: []Return{{Type: "mp.AsyncResult"}}},
	{Name: "close", Doc: "Takes no more tasks; the workers end once the tasks given are done."},
	{Name: "terminate", Doc: "Ends the workers now."},
	{Name: "join", Doc: "Waits for the workers to end, after close or terminate."},
}}

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

// withMethod is x:with(f, ...), which holds what is named around f.
func withMethod(held string) Func {
	return Func{Name: "with", Doc: "Holds " + held + " around f(...), releasing it even when f raises, and returns f's results.",
		Params:  []Param{{Name: "f", Type: "function"}, {Name: "...", Type: "any"}},
		Returns: []Return{{Name: "...", Type: "any"}}}
}

// lockMethods are acquire, release and with, which the locks, the
// semaphores and Condition share.
// Held names what they hold: "lock", "semaphore".
func lockMethods(held string) []Func {
	return []Func{
		{Name: "acquire", Doc: "Acquires the " + held + "; true, \"abandoned\" when a holder died holding it; false on timeout.",
			Params: blockParams(), Returns: okStatus(`"abandoned"`)},
		{Name: "release", Doc: "Releases the " + held + "."},
		withMethod("the " + held),
	}
}

// lockClass is a lock-like class: the shared methods and one of its own.
func lockClass(name, held, doc string, own Func) Class {
	return Class{Name: name, Doc: doc, Methods: append(lockMethods(held), own)}
}
