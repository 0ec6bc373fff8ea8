package vm

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestListIsATable proves that appendList writes the bytes Encode writes
// for a table that holds the items in its array, that decodeList gives the
// items back (nils included, where the table loses trailing ones), and that
// Decode reads a list as that table.
func TestListIsATable(t *testing.T) {
	p := newPair(t)
	shared := p.from.L.NewTable()
	items := []lua.LValue{lua.LNumber(1), lua.LString("two"), shared, lua.LNumber(-(1 << 53) + 1), shared, lua.LNumber(0.5)}
	table := p.from.L.NewTable()
	for _, v := range items {
		table.Append(v)
	}
	want, err := p.from.Encode("items", table)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.from.appendList([]byte{'m'}, "items", items)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "m"+string(want) {
		t.Fatalf("appendList wrote % x\nEncode of the table wrote % x", got[1:], want)
	}
	back, err := p.to.decodeList(got[1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(items) || back[0] != lua.LNumber(1) || back[1] != lua.LString("two") ||
		back[3] != lua.LNumber(-(1<<53)+1) || back[5] != lua.LNumber(0.5) {
		t.Errorf("decodeList gave %v", back)
	}
	if back[2] != back[4] || back[2].Type() != lua.LTTable {
		t.Errorf("a table twice in the list came back as %v and %v, want the same table", back[2], back[4])
	}
	p.check(t, mustDecode(t, p.to, got[1:]), `assert(#v == 6 and v[2] == "two" and v[3] == v[5])`)

	withNils, err := p.from.appendList(nil, "items", []lua.LValue{lua.LNil, lua.LNumber(2), lua.LNil})
	if err != nil {
		t.Fatal(err)
	}
	if back, err := p.to.decodeList(withNils); err != nil || len(back) != 3 || back[0] != lua.LNil || back[1] != lua.LNumber(2) || back[2] != lua.LNil {
		t.Errorf("a list with nils came back as %v, %v", back, err)
	}
}

func mustDecode(t *testing.T, vm *VM, data []byte) lua.LValue {
	t.Helper()
	v, err := vm.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestListRefusals proves that appendList refuses what Encode refuses, by
// the item's path, and that decodeList refuses what is not a list: another
// value, a table with keys or a metatable, a reference to the list itself.
func TestListRefusals(t *testing.T) {
	p := newPair(t)
	co, _ := p.from.L.NewThread()
	_, err := p.from.appendList(nil, "result", []lua.LValue{lua.LNumber(1), co})
	if err == nil || err.Error() != "cannot send result[2]: a coroutine cannot cross processes" {
		t.Errorf("appendList of a coroutine: %v", err)
	}
	encode := func(src string) []byte {
		data, err := p.from.Encode("value", run(t, p.from, src))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	cases := map[string]string{
		"return 5":                               "not a list",
		"return {1, 2, x = 3}":                   "not a list: the table has keys besides its array",
		"return setmetatable({1}, {})":           "not a list: the table has a metatable",
		"local t = {1}; t[2] = t; return t":      "reference to the list being decoded",
		"local t = {1}; t[2] = {t}; return t":    "reference to the list being decoded",
		"return {1, 2, 3, {4, {5}}, 'six', 7.5}": "",
	}
	for src, want := range cases {
		_, err := p.to.decodeList(encode(src))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("decodeList of %q: %v, want %q", src, err, want)
		}
	}
	if _, err := p.to.decodeList(encode("return {1, 2}")[:4]); err == nil {
		t.Error("decodeList of a truncated list: no error")
	}
}

// TestDecodedNumbersSurviveCollection proves that numbers decoded into
// shared blocks keep their exact bits across garbage collections, with
// blocks filled, started and dropped, and that a block is no larger than
// the message allows.
func TestDecodedNumbersSurviveCollection(t *testing.T) {
	p := newPair(t)
	want := make([]lua.LValue, 3*maxNumberBlock+7)
	for i := range want {
		want[i] = lua.LNumber(float64(i) * 1.25)
	}
	want[1] = lua.LNumber(math.Copysign(0, -1))
	want[2] = lua.LNumber(math.Float64frombits(0x7ff8000000000abc))
	want[3] = lua.LNumber(math.Inf(-1))
	data, err := p.from.appendList(nil, "items", want)
	if err != nil {
		t.Fatal(err)
	}
	var kept []lua.LValue
	for range 3 {
		got, err := p.to.decodeList(data)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, got[len(got)-1], got[maxNumberBlock])
		runtime.GC()
		for i, v := range got {
			if math.Float64bits(float64(v.(lua.LNumber))) != math.Float64bits(float64(want[i].(lua.LNumber))) {
				t.Fatalf("number %d came back as %v, want %v", i, v, want[i])
			}
		}
	}
	runtime.GC()
	for i, v := range kept {
		w := want[len(want)-1]
		if i%2 == 1 {
			w = want[maxNumberBlock]
		}
		if v != w {
			t.Errorf("a kept number is %v, want %v", v, w)
		}
	}
	var b numberBoxes
	var sizes []int
	for range 600 {
		if len(b.s) == cap(b.s) {
			b.box(1, 1<<20)
			sizes = append(sizes, cap(b.s))
		} else {
			b.box(1, 1<<20)
		}
	}
	if want := "[2 4 8 16 32 64 128 256 256]"; fmt.Sprint(sizes) != want {
		t.Errorf("blocks of %v numbers, want %s: they start small and double", sizes, want)
	}
	b = numberBoxes{}
	b.box(1, 5)
	b.box(1, 3)
	b.box(1, 1)
	if cap(b.s) != 1 {
		t.Errorf("with 1 byte left, a block of %d numbers, want 1", cap(b.s))
	}
}
