package vm

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// TestTableLayoutHolds fails when gopher-lua's LTable no longer has the
// layout that tableLayout mirrors: decoding would then build tables through
// the API, correct but several times slower. Update tableLayout.
func TestTableLayoutHolds(t *testing.T) {
	if !tableLayoutHolds {
		t.Fatal("lua.LTable's fields differ from tableLayout's (codec_blocks.go): update it")
	}
}

// TestDecodedTablesStayApart changes decoded tables that share blocks, past
// the room each was given, and checks that each keeps its own contents and
// iterates as a table built in Lua does.
func TestDecodedTablesStayApart(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `local t = {}
		for i = 1, 300 do t[i] = {id = i, name = "user" .. i, tags = {"a", "b", "c"}, [0.5] = i} end
		t[301] = {}
		return t`)
	runtime.GC()
	p.check(t, v, `
		for i = 1, 300, 2 do
			local r = v[i]
			r.extra, r.more = i * 2, "x" .. i      -- keys past the room decoding gave
			r.name = nil                            -- a key deleted
			table.insert(r.tags, "d")               -- the array past its room
			r.tags[1] = "A" .. i
			v[301][i] = i
		end
		collectgarbage()
		for i = 1, 300 do
			local r = v[i]
			local keys, seen = 0, {}
			for k, x in pairs(r) do
				keys = keys + 1
				assert(not seen[k], "key seen twice: " .. tostring(k))
				seen[k] = true
				assert(r[k] == x)
			end
			assert(r.id == i and r[0.5] == i)
			if i % 2 == 1 then
				assert(keys == 5, "record " .. i .. " has " .. keys .. " keys")
				assert(r.name == nil and r.extra == i * 2 and r.more == "x" .. i)
				assert(#r.tags == 4 and r.tags[1] == "A" .. i and r.tags[4] == "d")
			else
				assert(keys == 4, "record " .. i .. " has " .. keys .. " keys")
				assert(r.name == "user" .. i and #r.tags == 3 and r.tags[1] == "a" and r.tags[3] == "c")
			end
		end
		assert(#v == 301 and v[301][299] == 299 and v[301][2] == nil)
	`)
}

// TestDecodedStringsSurviveCollection keeps strings of one message, short
// and long, repeated and not, past collections, and checks them.
func TestDecodedStringsSurviveCollection(t *testing.T) {
	p := newPair(t)
	var kept []lua.LValue
	for range 3 {
		v := p.ship(t, `local t = {}
			for i = 1, 2000 do t[i] = (i % 3 == 0) and "same" or string.rep("s", i % 300) .. i end
			t[2001] = ""
			return t`)
		tb := v.(*lua.LTable)
		kept = append(kept, tb.RawGetInt(1999), tb.RawGetInt(3), tb.RawGetInt(299))
		runtime.GC()
		p.check(t, v, `
			for i = 1, 2000 do
				local want = (i % 3 == 0) and "same" or string.rep("s", i % 300) .. i
				assert(v[i] == want, "string " .. i .. " came back as " .. tostring(v[i]))
			end
			assert(v[2001] == "")`)
	}
	runtime.GC()
	wants := []string{strings.Repeat("s", 1999%300) + "1999", "same", strings.Repeat("s", 299) + "299"}
	for i, v := range kept {
		if want := wants[i%3]; string(v.(lua.LString)) != want {
			t.Errorf("kept string %d is %q, want %q", i, v, want)
		}
	}
}

// TestAppendArray proves that appendArray leaves a table as RawSetInt one
// value at a time does, nils included, on its fast path and when the
// array part is not the length it is told.
func TestAppendArray(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	vs := []lua.LValue{lua.LNumber(1), lua.LNil, lua.LString("x"), lua.LNil}
	for _, start := range []int{0, 2} {
		got, want := L.CreateTable(8, 0), L.CreateTable(8, 0)
		for i := 1; i <= start; i++ {
			got.RawSetInt(i, lua.LTrue)
			want.RawSetInt(i, lua.LTrue)
		}
		appendArray(got, start, vs)
		appendArray(got, start+len(vs), vs)
		for i, v := range append(slices.Clone(vs), vs...) {
			want.RawSetInt(start+1+i, v)
		}
		if got.Len() != want.Len() || got.MaxN() != want.MaxN() {
			t.Errorf("from %d: Len %d MaxN %d, want %d %d", start, got.Len(), got.MaxN(), want.Len(), want.MaxN())
		}
		for i := 1; i <= start+2*len(vs)+1; i++ {
			if got.RawGetInt(i) != want.RawGetInt(i) {
				t.Errorf("from %d: [%d] = %v, want %v", start, i, got.RawGetInt(i), want.RawGetInt(i))
			}
		}
	}
	// Told the wrong length, it sets the keys it is given, one by one.
	got := L.NewTable()
	appendArray(got, 3, vs[:1])
	if got.RawGetInt(4) != lua.LNumber(1) || got.RawGetInt(1) != lua.LNil {
		t.Errorf("appendArray at 4 of an empty table: [4] = %v, [1] = %v", got.RawGetInt(4), got.RawGetInt(1))
	}
}

// TestDecoderKeptBetweenMessages proves that the decoder a VM keeps from one
// message to the next (putDecoder) carries nothing of the first into the
// second: the tables of two messages stay apart, a reference is only to a
// value of its own message, and a small message costs one allocation, its
// number's block, not a decoder.
func TestDecoderKeptBetweenMessages(t *testing.T) {
	p := newPair(t)
	data, err := p.from.Encode("v", run(t, p.from, `return {k = {1, 2}, s = "short"}`))
	if err != nil {
		t.Fatal(err)
	}
	a := mustDecode(t, p.to, data).(*lua.LTable)
	b := mustDecode(t, p.to, data).(*lua.LTable)
	a.RawGetString("k").(*lua.LTable).RawSetInt(1, lua.LNumber(99))
	if a == b || b.RawGetString("k").(*lua.LTable).RawGetInt(1) != lua.LNumber(1) || b.RawGetString("s") != lua.LString("short") {
		t.Errorf("the second decode of a message shares the first's tables: %v", b.RawGetString("k").(*lua.LTable).RawGetInt(1))
	}
	if _, err := p.to.Decode([]byte{codecVersion, tagRef, 0}); err == nil {
		t.Error("a reference to a value of the message before was accepted")
	}
	small, err := p.from.Encode("v", lua.LNumber(42))
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { mustDecode(t, p.to, small) }); n > 1 {
		t.Errorf("decoding one number made %.0f allocations, want at most 1", n)
	}
}
