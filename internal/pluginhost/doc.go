// Package pluginhost is mphost's side of plugins: it finds plugin
// executables, checks their pins, starts each at its first use in a run and
// keeps one process per plugin for the run, calls their functions for the
// run's VMs, and ends them with the run.
//
// A plugin process is a go-plugin (gRPC) server of the Module service
// (internal/pluginproto), written with the public plugins package. go-plugin
// gives its connection to one client, the host's [Set], whose calls share
// one gRPC stream, tagged with ids. The run's child processes ask the host
// for a plugin ([Host], [Remote]) and call the same process over its call
// socket, a connection of their own ([SocketConn]): a unix socket round trip
// per call, framed as internal/wire frames.
//
// No plugin outlives its host: each is forked from a thread that lives as
// long as its Set (internal/spawn), with a death signal (SIGTERM, on which a plugin
// removes its sockets and dies) for when the host dies; the plugin also
// watches its parent's pid and a lifeline stream the host holds open.
package pluginhost
