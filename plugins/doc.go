// Package plugins is the SDK for mphost plugins: executables that give Lua
// scripts one module written in Go, without rebuilding mphost.
//
// A plugin is a program whose main calls [Serve] with its [Module]; it is
// built as mphost-plugin-NAME and put in a folder mphost searches (the
// --plugin-dir flag, then $MPHOST_PLUGIN_PATH, then
// $XDG_CONFIG_HOME/mphost/plugins). The module's Loader is an ordinary
// gopher-lua loader, so any gopher-lua module becomes a plugin unchanged:
//
//	package main // built as mphost-plugin-hello
//
//	import (
//		lua "github.com/yuin/gopher-lua"
//		"github.com/mphost/mphost/plugins"
//	)
//
//	func main() {
//		plugins.Serve(plugins.Module{Name: "hello", Version: "1.0.0", Loader: loader, Stubs: stubs})
//	}
//
// mphost starts the plugin at the first require of its module in a run and
// keeps one plugin process for the whole run, shared by the main script,
// its child processes and its pool workers. A script calls the module's
// functions as if they were local; each call crosses to the plugin process.
//
// # What a plugin author must know
//
//   - Concurrency. Calls from different processes run at the same time, each
//     in a Lua state of its own taken from a small pool; every state has the
//     module loaded by its own call of Loader. So what the module keeps in
//     Lua (a local table in the loader) is per state and unreliable across
//     calls; what must be shared (a counter, a connection pool) is Go state,
//     guarded as Go requires (sync/atomic, a mutex).
//   - Values. Arguments and results cross processes as mphost copies any
//     value: nil, booleans, numbers, strings and tables of them, with nil
//     keeping its place among the arguments and results. A function or an
//     mp object is refused with an error naming the plugin: a plugin cannot
//     call back into the script. The module table's function fields are the
//     functions scripts call; its other fields are copied to the script when
//     they are data, and left out otherwise.
//   - Errors. A Lua error raised in the plugin (L.RaiseError, L.ArgError,
//     error()) reaches the calling script as that error, with the plugin
//     named. A plugin process that crashes or exits fails the calls it was
//     running, and mphost starts it again at the next call.
//   - Cancellation. When the caller stops waiting (its run is cancelled,
//     Ctrl-C, its process is stopped), the call's Lua state is cancelled
//     through its context: Lua code stops at once, and Go code that runs
//     long or blocks should watch L.Context().Done().
//   - Output. Nothing may write to stdout before Serve (it carries go-plugin's
//     handshake); print and io.write in the module, and the process's
//     stderr, go to mphost's stderr, each line named: [plugin NAME pid N].
//   - Lifetime. The plugin exits when mphost ends the run or dies; Serve never
//     returns.
//   - Stubs is the text of a lua-language-server definition file for the
//     module (it starts with ---@meta), so that editors complete and check
//     scripts that use it.
//
// A plugin built against one version of this package and run by an mphost
// that speaks another plugin protocol is refused when it starts, with both
// versions named: rebuild it against the mphost it runs with.
package plugins
