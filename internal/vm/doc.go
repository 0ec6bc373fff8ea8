// Package vm is the Lua side of mphost, the same in the host and in every
// child process: it builds the Lua VM (libraries, raised limits, the record of
// every chunk's source), binds the `mp` module, and holds the value codec that
// lets any Lua value, closures included, cross a process boundary.
//
// The package knows nothing of processes or RPC. Everything a builtin needs
// from outside its own VM goes through one interface, [Runtime]: the host
// implements it in-process for the main script, and a child implements it with
// gRPC calls to the host. One set of bindings therefore serves both sides.
//
// A VM is used by one goroutine only: gopher-lua's LState is not safe for
// concurrent use, and nothing in this package touches a VM's values from any
// goroutine but the one running it.
package vm
