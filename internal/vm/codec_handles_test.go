package vm

import (
	"slices"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// HandleIDs finds every copy of a handle that Encode wrote, wherever it
// sits: in arrays, keys, values, metatables, upvalues, globals, after
// strings and floats it must step over; and it refuses what is cut short.
func TestHandleIDs(t *testing.T) {
	p := newPair(t)
	L := p.from.L
	handle := func(id uint64) *lua.LUserData {
		ud := L.NewUserData()
		ud.Value = &fakeHandle{id: id}
		return ud
	}
	L.SetGlobal("h1", handle(1))
	L.SetGlobal("h2", handle(2))
	L.SetGlobal("h3", handle(3))
	L.SetGlobal("h4", handle(4))
	L.SetGlobal("h5", handle(5))
	L.SetGlobal("h6", handle(6))
	v := run(t, p.from, `
		G = h5
		local up = {h4, "s", 1.5}
		local shared = {h2}
		local t = {h1, "x", 2^60, shared, shared, {[h3] = true}, f = function() return up, G end}
		return setmetatable(t, {h6, __index = {-7}})`)
	data, err := p.from.Encode("v", v)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := HandleIDs(data)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("HandleIDs = %v, %v; want [1 2 3 4 5 6]", ids, err)
	}
	list, err := p.from.appendList(nil, "r", []lua.LValue{handle(7), lua.LNil, handle(7)})
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := HandleIDs(list); err != nil || !slices.Equal(ids, []uint64{7, 7}) {
		t.Fatalf("HandleIDs of a list = %v, %v; want [7 7]", ids, err)
	}
	for cut := 1; cut < len(data); cut++ {
		if _, err := HandleIDs(data[:cut]); err == nil {
			t.Fatalf("HandleIDs of the first %d bytes of %d: no error", cut, len(data))
		}
	}
	if _, err := HandleIDs(nil); err == nil {
		t.Fatal("HandleIDs of nothing: no error")
	}
}
