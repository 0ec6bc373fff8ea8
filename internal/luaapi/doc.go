// Package luaapi declares the Lua-level surface of the `mp` module as data:
// every builtin, every class of object a script handles (Process, Queue,
// Lock, Pool, AsyncResult...), each method's and function's parameters,
// returns and options, with one line of documentation each. It does not
// bind anything: internal/vm makes the bindings, and this package's tests
// check that the declaration and the bindings name the same things.
//
// Whatever describes `mp` to a reader is derived from [MP]: the
// lua-language-server definition files that [WriteStubs] writes (for `mp`,
// and for plugin modules from their own Stubs text), and the entries of the
// API reference, docs/api.md, that [Module.Reference] writes into the page's
// generated regions (`go generate ./internal/luaapi/`; a test fails when the
// page is not what it writes). How a call waits comes from the object
// operation it performs, declared in internal/ops ([Module.Waiting]). The
// command `mphost stubs DIR` is one call, with the Name and Stubs of every
// plugin found:
//
//	err := luaapi.WriteStubs(dir, []luaapi.PluginStubs{{Name: info.Name, Stubs: info.Stubs}})
//
// Types are written as lua-language-server types: "any", "boolean",
// "number", "integer", "string", "table", "function", a class of the module
// ("mp.Queue"), unions ("mp.Lock|mp.RLock") and string literals ("\"full\"").
package luaapi

//go:generate go run ./gendoc ../../docs/api.md
