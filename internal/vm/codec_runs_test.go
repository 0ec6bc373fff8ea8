package vm

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// runNumbers are numbers a run must keep to the bit: the edges of an int32,
// the integers just past them, -0, NaN with a payload, infinities, the
// smallest subnormal.
var runNumbers = []float64{
	0, 1, -1, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, math.MinInt32 - 1,
	math.Copysign(0, -1), math.Float64frombits(0x7ff8000000000abc), math.Inf(1), math.Inf(-1),
	5e-324, 0.5, 1 << 53, -(1 << 60), 1e300,
}

// TestNumberRunsRoundTrip proves that arrays of numbers written as runs
// (tagInt32s, tagFloats) come back bit for bit, in tables, in lists, next
// to other values and in runs too short to be one, and that the encoder
// does write runs: 4 bytes a number for int32s, 8 for the others.
func TestNumberRunsRoundTrip(t *testing.T) {
	p := newPair(t)
	var values []lua.LValue
	for _, f := range runNumbers {
		values = append(values, lua.LNumber(f))
	}
	small := []lua.LValue{}
	for i := range 100 {
		small = append(small, lua.LNumber(i*i-50))
	}
	mixed := slices.Concat(small[:7], []lua.LValue{lua.LString("s")}, values, []lua.LValue{lua.LTrue}, small[:8])
	for name, items := range map[string][]lua.LValue{"int32s": small, "floats": values, "mixed": mixed, "short": small[:minRun-1]} {
		table := p.from.L.NewTable()
		for _, v := range items {
			table.Append(v)
		}
		table.RawSetString("key", lua.LNumber(7))
		data, err := p.from.Encode("v", table)
		if err != nil {
			t.Fatal(err)
		}
		back := mustDecode(t, p.to, data).(*lua.LTable)
		got := make([]lua.LValue, back.Len())
		for i := range got {
			got[i] = back.RawGetInt(i + 1)
		}
		sameValues(t, name+" in a table", got, items)
		if back.RawGetString("key") != lua.LNumber(7) {
			t.Errorf("%s: the table's key came back as %v", name, back.RawGetString("key"))
		}
		list, err := p.from.appendList(nil, "items", items)
		if err != nil {
			t.Fatal(err)
		}
		gotList, err := p.to.decodeList(list)
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, name+" in a list", gotList, items)
	}

	// {small...}: version, tagTable, n, pairs, the run's tag, its count, the
	// numbers, and no metatable.
	data, err := p.from.appendList(nil, "items", small)
	if err != nil {
		t.Fatal(err)
	}
	if want := 6 + 4*len(small) + 1; data[4] != tagInt32s || len(data) != want {
		t.Errorf("100 small integers: tag %d, %d bytes; want tagInt32s and %d bytes", data[4], len(data), want)
	}
	if data, _ = p.from.appendList(nil, "items", values); data[4] != tagFloats {
		t.Errorf("numbers past an int32: tag %d, want tagFloats", data[4])
	}
}

// sameValues fails unless got and want hold the same values, numbers to
// the bit.
func sameValues(t *testing.T, what string, got, want []lua.LValue) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values came back, want %d", what, len(got), len(want))
	}
	for i := range want {
		w, isNumber := want[i].(lua.LNumber)
		g, ok := got[i].(lua.LNumber)
		if isNumber && (!ok || math.Float64bits(float64(g)) != math.Float64bits(float64(w))) ||
			!isNumber && got[i] != want[i] {
			t.Errorf("%s: value %d came back as %v, want %v", what, i+1, got[i], want[i])
		}
	}
}

// TestNumberRunRefusals proves that the decoder refuses a run that does not
// fit its array, is cut short, is empty, or stands where a value must.
func TestNumberRunRefusals(t *testing.T) {
	p := newPair(t)
	run8 := append([]byte{tagInt32s, 8}, make([]byte, 32)...)
	cases := map[string][]byte{
		"longer than its array": slices.Concat([]byte{codecVersion, tagTable, 7, 0}, run8, []byte{tagNil}),
		"cut short":             slices.Concat([]byte{codecVersion, tagTable, 8, 0}, run8[:20]),
		"empty":                 {codecVersion, tagTable, 1, 0, tagFloats, 0, tagNil, tagNil},
		"alone":                 slices.Concat([]byte{codecVersion}, run8),
		"as a key":              slices.Concat([]byte{codecVersion, tagTable, 0, 1}, run8, []byte{tagTrue, tagNil}),
	}
	for name, data := range cases {
		if _, err := p.to.Decode(data); err == nil {
			t.Errorf("Decode of a run %s: accepted", name)
		}
		if _, err := p.to.decodeList(data); err == nil {
			t.Errorf("decodeList of a run %s: accepted", name)
		}
	}
	if _, err := p.to.Decode(cases["longer than its array"]); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("a run longer than its array: %v, want it to say so", err)
	}
}

// TestHandleIDsStepOverRuns proves that HandleIDs counts a run as the
// values it holds, finding the handles on either side of it, and refuses a
// run cut short.
func TestHandleIDsStepOverRuns(t *testing.T) {
	p := newPair(t)
	items := []lua.LValue{handleValue(p.from, 1)}
	for i := range 20 {
		items = append(items, lua.LNumber(float64(i)+0.5))
	}
	items = append(items, handleValue(p.from, 2))
	table := p.from.L.NewTable()
	for _, v := range items {
		table.Append(v)
	}
	table.RawSetString("h", handleValue(p.from, 3))
	data, err := p.from.Encode("v", table)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte{tagFloats, 20}) {
		t.Fatal("the encoder wrote no run")
	}
	ids, err := HandleIDs(data)
	if err != nil || !slices.Equal(ids, []uint64{1, 2, 3}) {
		t.Fatalf("HandleIDs = %v, %v; want [1 2 3]", ids, err)
	}
	for cut := 1; cut < len(data); cut++ {
		if _, err := HandleIDs(data[:cut]); err == nil {
			t.Fatalf("HandleIDs of the first %d bytes of %d: no error", cut, len(data))
		}
	}
}

// handleValue is a userdata the codec writes as the handle of object id.
func handleValue(vm *VM, id uint64) *lua.LUserData {
	ud := vm.L.NewUserData()
	ud.Value = &fakeHandle{id: id}
	return ud
}
