package vm

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// A Go module is a module whose loader is written in Go (an ordinary
// gopher-lua loader). Once loaded in a VM, its table and the Go functions,
// tables and userdata it holds are builtins named "NAME" and "NAME.member":
// a closure that captures one crosses processes by that name, and a VM that
// decodes a name of a Go module it has not loaded yet loads it then, as
// require would. A VM knows the Go modules of two sources: the registry of
// this binary (RegisterModule), preloaded in every VM, and the finder of its
// Options (Options.Modules), which require consults last.

var registry struct {
	sync.Mutex
	loaders map[string]lua.LGFunction
}

// RegisterModule adds a Go module to every VM this binary makes from now on.
// It panics when name is already taken, by a registered module or by one of
// the VM's own (mp and the standard libraries).
func RegisterModule(name string, loader lua.LGFunction) {
	if name == "" || loader == nil {
		panic("vm.RegisterModule: a module needs a name and a loader")
	}
	registry.Lock()
	defer registry.Unlock()
	if name == "mp" || name == "_G" || containsString(stdlibs, name) {
		panic(fmt.Sprintf("module %q is built in: it cannot be registered", name))
	}
	if _, taken := registry.loaders[name]; taken {
		panic(fmt.Sprintf("module %q is registered twice", name))
	}
	if registry.loaders == nil {
		registry.loaders = make(map[string]lua.LGFunction)
	}
	registry.loaders[name] = loader
}

// registered returns the loader of a registered Go module.
func registered(name string) (lua.LGFunction, bool) {
	registry.Lock()
	defer registry.Unlock()
	loader, ok := registry.loaders[name]
	return loader, ok
}

// registeredNames lists the registered Go modules.
func registeredNames() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.loaders))
	for name := range registry.loaders {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ModuleFinder finds the Go module name for the VM v (see
// Options.Modules): its loader, or nil and an error that says where it
// looked.
type ModuleFinder func(v *VM, name string) (lua.LGFunction, error)

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// openGoModules preloads the registered Go modules and puts the finder of
// Options.Modules last among require's searchers.
func (vm *VM) openGoModules(finder ModuleFinder) {
	L := vm.L
	vm.finder = finder
	for _, name := range registeredNames() {
		loader, _ := registered(name)
		L.PreloadModule(name, vm.goModuleLoader(name, loader))
	}
	loaders := L.GetField(L.GetGlobal("package"), "loaders").(*lua.LTable)
	loaders.Append(L.NewFunction(vm.searchFinder))
}

// goModuleLoader wraps a Go module's loader so that what it returns is
// named as the module's builtins.
func (vm *VM) goModuleLoader(name string, loader lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(L.NewFunction(loader))
		L.Push(lua.LString(name))
		L.Call(1, 1)
		mod := L.Get(-1)
		if t, ok := mod.(*lua.LTable); ok {
			vm.builtins.addTable(name, t)
		} else {
			vm.builtins.add(name, mod)
		}
		vm.goModules[name] = true
		return 1
	}
}

// searchFinder is require's last searcher: the Go modules that
// Options.Modules finds.
func (vm *VM) searchFinder(L *lua.LState) int {
	name := L.CheckString(1)
	if vm.finder == nil {
		L.Push(lua.LString(fmt.Sprintf("\n\tno Go module '%s'", name)))
		return 1
	}
	loader, err := vm.finder(vm, name)
	if err != nil {
		L.Push(lua.LString("\n\t" + err.Error()))
		return 1
	}
	L.Push(L.NewFunction(vm.goModuleLoader(name, loader)))
	return 1
}

// loadBuiltin resolves the name of a builtin that this VM has not named yet
// and that belongs to a Go module it knows ("geo.dist" of module "geo", or
// "a.b.f" of module "a.b"): it loads the module, then looks again. The
// module is loaded by its own loader, not by require, which could find a
// Lua file of the same name first; require then returns it too. It runs on
// the VM's goroutine, as decoding does; ok is false when name is of no Go
// module it knows.
func (vm *VM) loadBuiltin(name string) (v lua.LValue, ok bool, err error) {
	for i := len(name); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		module := name[:i]
		if vm.goModules[module] {
			continue
		}
		loader, known := registered(module)
		if !known && vm.finder != nil {
			if found, err := vm.finder(vm, module); err == nil && found != nil {
				loader, known = found, true
			}
		}
		if !known {
			continue
		}
		L := vm.L
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(vm.goModuleLoader(module, loader)), NRet: 1, Protect: true}); err != nil {
			return nil, true, fmt.Errorf("loading module %q: %w", module, err)
		}
		mod := L.Get(-1)
		L.Pop(1)
		loaded := L.GetField(L.GetField(L.GetGlobal("package"), "loaded"), module)
		if loaded == lua.LNil {
			L.SetField(L.GetField(L.GetGlobal("package"), "loaded"), module, mod)
		}
		v, ok := vm.builtins.values[name]
		return v, ok, nil
	}
	return nil, false, nil
}
