// Package objects holds the host-side state of every shared object a script can make: Lock,
// RLock, Semaphore, Event, Condition, Barrier, Queue, JoinableQueue, Pipe, Value and Pool (the engine of a process pool), and the
// Registry that names them by id.
//
// The host owns these objects. The main script calls them directly; a child process calls them
// through the host's RPC service, one goroutine per call, so every method is safe for concurrent
// use. A pipe's messages travel over sockets of its own (package pipesock), which children that
// use an end read and write themselves: the host keeps a socket of each end, to hand to them, to
// serve the main script, and to close an end for everyone. The package knows nothing of Lua,
// gRPC or the value codec: queue items, pipe messages and
// values are opaque []byte already encoded by the caller, and errors are the sentinel values in
// errors.go, which the caller translates into messages for the script author.
//
// Every call that may block takes a context.Context, which ends the wait when it is done (so
// Ctrl-C and --timeout interrupt a blocked script), and a Wait, which says whether and how long
// the call may block. A call that would not block succeeds even when the context is done.
//
// Calls that act for a process take its Owner. When a process dies the host calls
// Registry.Died: the dead owner's locks and permits are released and flagged abandoned, the
// barriers it waits at break, the pipe ends only it held are closed, its own blocked calls return
// ErrOwnerDied, and any later call made for it fails with ErrOwnerDied, so that a call still in
// flight when it died cannot take a lock that nobody will release. Waits that take no owner
// (Event.Wait, Queue.Get, PipeEnd.Recv) end when the caller cancels their context.
package objects
