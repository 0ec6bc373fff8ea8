// Package child is the go-plugin glue between the mphost host and its
// child processes: the handshake, the gRPC schema (in proto/, generated code
// committed), the worker that a child runs, and the child's side of the
// script.Runtime seam, which turns every `mp` call into a call to the host.
//
// A child is the mphost binary (or any program that calls [ServeChild]
// first thing when [IsWorker] says so) re-executed with the argument
// [WorkerArg]. The host dispenses the "worker" plugin, calls Init with the
// broker id of the child's own connection back to the host, and Start with
// the process to run. The child runs it in its own Lua VM and exits with the
// process's status. Output goes over a pipe (file descriptor 3) in frames, so
// nothing written before the child dies is lost, even to SIGKILL.
//
// Besides its gRPC connection, a child has from the host: its call socket
// ([CallFD], object calls and puts, see calls.go), the memory shared by every
// process ([ValuesFD], package slots: Values' numbers, pipe ends' gates), and
// a socket on which the host hands it the sockets of the pipe ends it uses
// ([FilesFD], package pipesock), so that pipe messages go from process to
// process without the host.
package child
