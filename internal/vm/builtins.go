package vm

import (
	lua "github.com/yuin/gopher-lua"
)

// stdlibs are the global tables whose members travel by name.
var stdlibs = []string{"string", "table", "math", "io", "os", "coroutine", "debug", "package", "channel"}

// builtins names the values that cross processes by name rather than by
// value: the standard library's Go functions, tables and files, and the `mp`
// module's members. The receiving VM looks the name up in its own set.
type builtins struct {
	names  map[lua.LValue]string
	values map[string]lua.LValue
}

func (b *builtins) add(name string, v lua.LValue) {
	switch v.(type) {
	case *lua.LFunction, *lua.LTable, *lua.LUserData:
		if _, taken := b.names[v]; !taken {
			b.names[v] = name
		}
		b.values[name] = v
	}
}

// addTable names a table and its function, table and userdata members.
func (b *builtins) addTable(name string, t *lua.LTable) {
	b.add(name, t)
	t.ForEach(func(k, v lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			if fn, ok := v.(*lua.LFunction); ok && !fn.IsG {
				return // Lua code travels by value
			}
			b.add(name+"."+string(ks), v)
		}
	})
}

// builtinsRoom is the size hint of the builtins' maps: the most names that
// a map of 256 slots takes before it grows (7 in each group of 8). A VM has
// about 170, and every VM keeps the maps: a hint of 256 would make maps of
// 512 slots.
const builtinsRoom = 224

// collectBuiltins names everything the VM has after setup: the global Go
// functions, the standard libraries and the mp module.
func collectBuiltins(L *lua.LState, mp *lua.LTable) builtins {
	b := builtins{names: make(map[lua.LValue]string, builtinsRoom), values: make(map[string]lua.LValue, builtinsRoom)}
	globals := L.G.Global
	b.add("_G", globals)
	globals.ForEach(func(k, v lua.LValue) {
		if fn, ok := v.(*lua.LFunction); ok && fn.IsG {
			b.add(lua.LVAsString(k), fn)
		}
	})
	for _, lib := range stdlibs {
		if t, ok := globals.RawGetString(lib).(*lua.LTable); ok {
			b.addTable(lib, t)
		}
	}
	b.addTable("mp", mp)
	return b
}
