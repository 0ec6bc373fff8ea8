package pluginhost

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// Caller is how a VM reaches a plugin's process: the host's [Set], or a
// child's [Remote].
type Caller interface {
	// Find reports whether there is a plugin name: nil, or an error that
	// says where it was looked for.
	Find(name string) error
	// Info describes the module of the plugin name, starting it if needed.
	Info(name string) (*pb.InfoReply, error)
	// CallFunc calls a function of the plugin with v's context.
	CallFunc(v *vm.VM, name, function string, args [][]byte) (*pb.CallReply, error)
}

// CallFunc is Call with the VM's context: the call ends when the VM stops.
func (s *Set) CallFunc(v *vm.VM, name, function string, args [][]byte) (*pb.CallReply, error) {
	return s.calls.CallFunc(v, name, function, args)
}

// Finder gives a VM the plugins that c reaches, as Go modules
// (vm.Options.Modules): found without starting them, started by require.
func Finder(c Caller) vm.ModuleFinder {
	return func(v *vm.VM, name string) (lua.LGFunction, error) {
		if err := c.Find(name); err != nil {
			return nil, err
		}
		return func(L *lua.LState) int {
			mod, err := Open(c, v, name)
			if err != nil {
				L.RaiseError("%v", err)
			}
			L.Push(mod)
			return 1
		}, nil
	}
}

// Open builds, in v, the table of the module of the plugin name, as require
// returns it: the module's data fields, and for each of its functions a
// function of v that calls it in the plugin process. Call it on v's own
// goroutine.
func Open(c Caller, v *vm.VM, name string) (*lua.LTable, error) {
	info, err := c.Info(name)
	if err != nil {
		return nil, err
	}
	fields, err := v.Decode(info.Values)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: the module's fields: %w", name, err)
	}
	mod, ok := fields.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("plugin %s: the module's fields are a %s, not a table", name, fields.Type())
	}
	for _, fn := range info.Functions {
		mod.RawSetString(fn, v.L.NewFunction(function(c, v, name, fn)))
	}
	return mod, nil
}

// function is the Lua function of v that calls fn of the plugin name.
// Errors, whether raised in the plugin or about the call, name the plugin
// and carry the caller's file:line.
func function(c Caller, v *vm.VM, name, fn string) lua.LGFunction {
	return func(L *lua.LState) int {
		args := make([]lua.LValue, L.GetTop())
		for i := range args {
			args[i] = L.Get(i + 1)
		}
		data, err := pb.EncodeValues(v, "argument", args)
		if err != nil {
			L.RaiseError("plugin %s: %s.%s: %v", name, name, fn, err)
		}
		reply, err := c.CallFunc(v, name, fn, data)
		if err != nil {
			L.RaiseError("%v", err)
		}
		switch {
		case reply.Failure != "":
			L.RaiseError("plugin %s: %s", name, reply.Failure)
		case len(reply.Error) > 0:
			raised, err := v.Decode(reply.Error)
			if err != nil {
				L.RaiseError("plugin %s: %s.%s raised an error that could not be read: %v", name, name, fn, err)
			}
			if s, ok := raised.(lua.LString); ok {
				L.RaiseError("plugin %s: %s", name, string(s))
			}
			L.Error(raised, 0) // a table raised stays that table
		}
		results, err := pb.DecodeValues(v, "result", reply.Results)
		if err != nil {
			L.RaiseError("plugin %s: %s.%s: %v", name, name, fn, err)
		}
		for _, r := range results {
			L.Push(r)
		}
		return len(results)
	}
}
