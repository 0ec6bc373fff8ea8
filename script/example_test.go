package script_test

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/script"
)

// Go values become Lua values, and back.
func ExampleToLua() {
	L := lua.NewState()
	defer L.Close()
	v, err := script.ToLua(L, map[string]any{"n": 5, "names": []string{"a", "b"}})
	if err != nil {
		panic(err)
	}
	L.SetGlobal("t", v)
	if err := L.DoString(`return #t.names, t.n * 2`); err != nil {
		panic(err)
	}
	fmt.Println(L.Get(-2), L.Get(-1))
	// Output: 2 10
}

func ExampleFromLua() {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`return {1, 2, {x = "y"}}, {[true] = 1}, print`); err != nil {
		panic(err)
	}
	for i := 1; i <= 3; i++ {
		v, err := script.FromLua(L.Get(i))
		fmt.Printf("%#v %v\n", v, err)
	}
	// Output:
	// []interface {}{1, 2, map[string]interface {}{"x":"y"}} <nil>
	// map[interface {}]interface {}{true:1} <nil>
	// <nil> value: a Lua function has no Go value
}

// A module function written in Go checks its arguments with UnpackArgs.
func ExampleUnpackArgs() {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("dist", L.NewFunction(func(L *lua.LState) int {
		var x, y float64
		unit := "m"
		script.UnpackArgs(L, "dist", "x", &x, "y", &y, "unit?", &unit)
		L.Push(lua.LString(fmt.Sprint(math.Hypot(x, y), unit)))
		return 1
	}))
	err := L.DoString(`
		print(dist(3, 4), dist(3, 4, "km"))
		dist(3, "four")`)
	fmt.Println(err)
	// Output:
	// 5m	5km
	// <string>:3: dist: argument #2 (y) must be a number, got string
	// stack traceback:
	//	[G]: in function 'dist'
	//	<string>:3: in main chunk
	//	[G]: ?
}
