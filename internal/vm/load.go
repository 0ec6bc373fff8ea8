package vm

import (
	"fmt"
	"io"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openLoaders replaces every way Lua code enters the VM (load, loadstring,
// loadfile, dofile and require's file searcher) with versions that record the
// chunk, so that closures made from it can be shipped to other processes.
func (vm *VM) openLoaders() {
	L := vm.L
	L.SetGlobal("loadstring", L.NewFunction(vm.builtinLoadString))
	L.SetGlobal("load", L.NewFunction(vm.builtinLoad))
	L.SetGlobal("loadfile", L.NewFunction(vm.builtinLoadFile))
	L.SetGlobal("dofile", L.NewFunction(vm.builtinDoFile))
	loaders := L.GetField(L.GetGlobal("package"), "loaders").(*lua.LTable)
	loaders.RawSetInt(2, L.NewFunction(vm.searchLuaFile))
}

// ReadChunk reads a chunk from a file; path "-" reads standard input under
// the name "stdin". A first line starting with '#' (a shebang) is turned into
// a comment so that line numbers stay true.
func ReadChunk(path string) (Chunk, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "stdin"
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return Chunk{}, err
	}
	src := string(data)
	if strings.HasPrefix(src, "#") {
		src = "--" + src
	}
	return Chunk{Name: name, Source: src}, nil
}

// loadResult pushes what load-like builtins return: the function, or nil and
// the error message.
func (vm *VM) loadResult(L *lua.LState, c Chunk) int {
	fn, err := vm.Load(c)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

func (vm *VM) builtinLoadString(L *lua.LState) int {
	return vm.loadResult(L, Chunk{Name: L.OptString(2, "<string>"), Source: L.CheckString(1)})
}

// builtinLoad is Lua 5.1's load(func [, chunkname]); a string argument is
// also accepted, as in Lua 5.2.
func (vm *VM) builtinLoad(L *lua.LState) int {
	name := L.OptString(2, "=(load)")
	if s, ok := L.Get(1).(lua.LString); ok {
		return vm.loadResult(L, Chunk{Name: name, Source: string(s)})
	}
	reader := L.CheckFunction(1)
	var b strings.Builder
	for {
		L.Push(reader)
		L.Call(0, 1)
		piece := L.Get(-1)
		L.Pop(1)
		if piece == lua.LNil {
			break
		}
		s, ok := piece.(lua.LString)
		if !ok {
			L.Push(lua.LNil)
			L.Push(lua.LString("reader function must return a string"))
			return 2
		}
		if len(s) == 0 {
			break
		}
		b.WriteString(string(s))
	}
	return vm.loadResult(L, Chunk{Name: name, Source: b.String()})
}

func (vm *VM) builtinLoadFile(L *lua.LState) int {
	path := L.OptString(1, "-")
	c, err := ReadChunk(path)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(fmt.Sprintf("cannot open %s", path)))
		return 2
	}
	return vm.loadResult(L, c)
}

func (vm *VM) builtinDoFile(L *lua.LState) int {
	path := L.OptString(1, "-")
	c, err := ReadChunk(path)
	if err != nil {
		L.RaiseError("cannot open %s", path)
	}
	fn, err := vm.Load(c)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, lua.MultRet)
	return L.GetTop() - top
}

// searchLuaFile is require's searcher for Lua files along package.path.
func (vm *VM) searchLuaFile(L *lua.LState) int {
	name := L.CheckString(1)
	path, ok := L.GetField(L.GetGlobal("package"), "path").(lua.LString)
	if !ok {
		L.RaiseError("package.path must be a string")
	}
	file := strings.ReplaceAll(name, ".", string(os.PathSeparator))
	var tried strings.Builder
	for _, pattern := range strings.Split(string(path), ";") {
		candidate := strings.ReplaceAll(pattern, "?", file)
		if _, err := os.Stat(candidate); err != nil {
			fmt.Fprintf(&tried, "\n\tno file '%s'", candidate)
			continue
		}
		c, err := ReadChunk(candidate)
		if err != nil {
			L.RaiseError("error loading module '%s' from file '%s': %v", name, candidate, err)
		}
		fn, err := vm.Load(c)
		if err != nil {
			L.RaiseError("error loading module '%s' from file '%s':\n\t%v", name, candidate, err)
		}
		L.Push(fn)
		return 1
	}
	L.Push(lua.LString(tried.String()))
	return 1
}

// PackagePath returns package.path.
func (vm *VM) PackagePath() string {
	return lua.LVAsString(vm.L.GetField(vm.L.GetGlobal("package"), "path"))
}

// SetPackagePath sets package.path, as a child does to find modules where
// the host's script does.
func (vm *VM) SetPackagePath(path string) {
	vm.L.SetField(vm.L.GetGlobal("package"), "path", lua.LString(path))
}

// AddPackagePath puts dir/?.lua first on package.path, as Python puts the
// script's folder first on sys.path.
func (vm *VM) AddPackagePath(dir string) {
	pkg := vm.L.GetGlobal("package")
	old := lua.LVAsString(vm.L.GetField(pkg, "path"))
	vm.L.SetField(pkg, "path", lua.LString(dir+string(os.PathSeparator)+"?.lua;"+old))
}
