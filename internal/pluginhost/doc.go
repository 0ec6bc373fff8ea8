// Package pluginhost is mphost's side of plugins: it finds plugin
// executables, checks their pins, starts each at its first use in a run and
// keeps one process per plugin for the run, calls their functions for the
// run's VMs, and ends them with the run.
//
// A plugin process is a go-plugin (gRPC) server of the Module service
// (internal/pluginproto), written with the public plugins package. go-plugin
// gives its connection to one client, the host's [Set]; the run's child
// processes reach the same plugin process by dialling the address the Set
// gives them ([Set.Addr], [Dial]) and calling over a connection of their own.
// Calls travel on one gRPC stream per connection, tagged with ids, so many
// calls share it at once and none pays a unary call's cost.
//
// No plugin outlives its host: each is forked from a thread that lives as
// long as the process, with a death signal (SIGTERM, on which a plugin
// removes its sockets and dies) for when the host dies; the plugin also
// watches its parent's pid and a lifeline stream the host holds open.
package pluginhost
