package vm

import (
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// A decoder makes many small values: numbers, strings, tables. Each one
// stored in an LValue, or each table, would otherwise cost an allocation or
// several of its own, most of the time of decoding. Here they share blocks,
// as gopher-lua's own allocator does for numbers (its alloc.go). A block is
// freed once nothing it holds is referenced. Blocks start small and double
// up to a cap, so that a message with a few such values costs little more
// than before, and a value kept from it keeps little alive; and a block is
// never much larger than what the bytes left in the message can still ask
// for.

// block hands out the elements of blocks of T.
type block[T any] struct{ s []T }

// next returns a new element. most caps a block's size; room bounds the
// elements the message can still ask for.
func (b *block[T]) next(most, room int) *T {
	if len(b.s) == cap(b.s) {
		b.s = make([]T, 0, min(max(2*cap(b.s), 2), most, room+1))
	}
	b.s = b.s[:len(b.s)+1]
	return &b.s[len(b.s)-1]
}

// iface is how Go lays out a non-empty interface value.
type iface struct {
	itab unsafe.Pointer
	word unsafe.Pointer
}

// boxed returns v (whose dynamic type is that of the value p points to)
// with p as its word: an LValue of p's value that costs no allocation.
func boxed(v lua.LValue, p unsafe.Pointer) lua.LValue {
	(*iface)(unsafe.Pointer(&v)).word = p
	return v
}

// numberBoxes boxes the numbers that a decoder makes. A number kept alive
// keeps at most 2 KB.
type numberBoxes struct {
	block[float64]
}

// maxNumberBlock caps a block of numbers.
const maxNumberBlock = 256

// box returns n as an LValue. left is the bytes left in the message; each
// number takes two bytes or more.
func (b *numberBoxes) box(n lua.LNumber, left int) lua.LValue {
	p := b.next(maxNumberBlock, left/2)
	*p = float64(n)
	return boxed(lua.LNumber(0), unsafe.Pointer(p)) // zero's itab needs no allocation
}

// stringBoxes boxes the strings that a decoder makes: their headers share
// blocks, and the bytes of short ones share arenas, so that a short string
// kept alive keeps at most 4 KB of headers and 4 KB of bytes. A small cache
// gives a short string that came before in the message (a table's keys, a
// repeated tag) the same LValue, with no copy at all.
type stringBoxes struct {
	headers block[string]
	arena   []byte
	seen    [64]lua.LValue // by hash of the bytes; LString or nil
}

// Sizes of string blocks.
const (
	maxStringBlock = 256  // headers in a block
	stringArena    = 4096 // bytes of an arena
	arenaString    = 256  // a longer string has bytes of its own
	cachedString   = 32   // a longer string is not looked up in the cache
)

// box returns the string of b as an LValue; b's bytes are copied. left is
// the bytes left in the message; each string takes one byte or more.
func (sb *stringBoxes) box(b []byte, left int) lua.LValue {
	if len(b) == 0 {
		return lua.LString("")
	}
	var slot *lua.LValue
	if len(b) <= cachedString {
		h := uint32(2166136261) // FNV-1a
		for _, c := range b {
			h = (h ^ uint32(c)) * 16777619
		}
		slot = &sb.seen[h%uint32(len(sb.seen))]
		if s, ok := (*slot).(lua.LString); ok && string(s) == string(b) {
			return *slot
		}
	}
	var s string
	if len(b) > arenaString {
		s = string(b)
	} else {
		if cap(sb.arena)-len(sb.arena) < len(b) {
			sb.arena = make([]byte, 0, min(stringArena, max(arenaString, left)))
		}
		start := len(sb.arena)
		sb.arena = append(sb.arena, b...)
		s = unsafe.String(&sb.arena[start], len(b))
	}
	p := sb.headers.next(maxStringBlock, left)
	*p = s
	v := boxed(lua.LString(""), unsafe.Pointer(p))
	if slot != nil {
		*slot = v
	}
	return v
}

// tableLayout is lua.LTable's layout in gopher-lua v1.1.2, which tableBlocks
// fills directly when tableLayoutHolds: the API gives every table its own
// allocation and sizes its key list and maps for 32 keys.
type tableLayout struct {
	Metatable lua.LValue
	array     []lua.LValue
	dict      map[lua.LValue]lua.LValue
	strdict   map[string]lua.LValue
	keys      []lua.LValue
	k2i       map[lua.LValue]int
}

// tableLayoutHolds says whether lua.LTable is laid out as tableLayout: the
// same fields, names, types and offsets. Otherwise tables are made through
// the API.
var tableLayoutHolds = sameLayout(reflect.TypeFor[lua.LTable](), reflect.TypeFor[tableLayout]())

func sameLayout(a, b reflect.Type) bool {
	if a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}

// tableBlocks makes the tables a decoder decodes: the tables share blocks,
// and so do their arrays and key lists, sized for what the message holds.
// A table kept alive keeps at most 64 tables and 4 KB of values.
type tableBlocks struct {
	tables block[lua.LTable]
	values []lua.LValue
}

// Sizes of table blocks.
const (
	maxTableBlock = 64
	valueBlock    = 256 // a longer array or key list has one of its own
)

// make returns a table for n array items and pairs other pairs. left is the
// bytes left in the message; each table takes four bytes or more, each item
// or pair one or more.
func (tb *tableBlocks) make(L *lua.LState, n, pairs, left int) *lua.LTable {
	if !tableLayoutHolds {
		return L.CreateTable(n, pairs)
	}
	t := tb.tables.next(maxTableBlock, left/4)
	t.Metatable = lua.LNil
	if n > 0 {
		tb.layout(t).array = tb.slice(n, left)
	}
	return t
}

func (tb *tableBlocks) layout(t *lua.LTable) *tableLayout {
	return (*tableLayout)(unsafe.Pointer(t))
}

// slice returns an empty slice with room for n values; appending past n
// moves it elsewhere, never onto its neighbours'.
func (tb *tableBlocks) slice(n, left int) []lua.LValue {
	if n > valueBlock {
		return make([]lua.LValue, 0, n)
	}
	if cap(tb.values)-len(tb.values) < n {
		tb.values = make([]lua.LValue, 0, min(valueBlock, max(n, left)))
	}
	start := len(tb.values)
	tb.values = tb.values[:start+n]
	return tb.values[start : start : start+n]
}

// setString sets t[key] = v for a string key, as t.RawSetString does, with
// key (an LString) kept as it is and the table's maps and key list sized for
// the pairs still to come, more included.
func (tb *tableBlocks) setString(t *lua.LTable, key lua.LValue, v lua.LValue, more, left int) {
	if !tableLayoutHolds {
		t.RawSet(key, v)
		return
	}
	l := tb.layout(t)
	if l.strdict == nil {
		l.strdict = make(map[string]lua.LValue, more)
	}
	if l.keys == nil {
		l.keys = tb.slice(more, left)
		l.k2i = make(map[lua.LValue]int, more)
	}
	l.strdict[string(key.(lua.LString))] = v
	if _, ok := l.k2i[key]; !ok {
		l.k2i[key] = len(l.keys)
		l.keys = append(l.keys, key)
	}
}
