package vm

import (
	"runtime"
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
