package vm

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// encoder holds the state of one Encode call.
type encoder struct {
	vm    *VM
	root  string
	buf   []byte
	steps []pathStep

	refs   map[unsafe.Pointer]uint64 // tables and functions already written, by refKey
	cells  map[*lua.Upvalue]uint64
	protos map[*lua.FunctionProto]uint64
	chunks map[ChunkID]uint64
}

func (e *encoder) refuse(reason string) error {
	return &SendError{Path: renderPath(e.root, e.steps), Reason: reason}
}

func (e *encoder) push(s pathStep) { e.steps = append(e.steps, s) }
func (e *encoder) pop()            { e.steps = e.steps[:len(e.steps)-1] }

func (e *encoder) uvarint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) value(v lua.LValue, depth int) error {
	if len(e.buf) > e.vm.limits.MaxBytes {
		return e.refuse(fmt.Sprintf("the value is over the limit of %d bytes", e.vm.limits.MaxBytes))
	}
	switch v := v.(type) {
	case *lua.LNilType:
		e.buf = append(e.buf, tagNil)
	case lua.LBool:
		if v {
			e.buf = append(e.buf, tagTrue)
		} else {
			e.buf = append(e.buf, tagFalse)
		}
	case lua.LNumber:
		e.number(float64(v))
	case lua.LString:
		e.buf = append(e.buf, tagString)
		e.str(string(v))
	case *lua.LTable, *lua.LFunction, *lua.LUserData:
		return e.reference(v, depth)
	case *lua.LState:
		return e.refuse("a coroutine cannot cross processes")
	case lua.LChannel:
		return e.refuse("a channel cannot cross processes")
	default:
		return e.refuse(fmt.Sprintf("a %s cannot cross processes", v.Type()))
	}
	return nil
}

// maxExactInt is the largest magnitude below which every integer is exact in
// a float64.
const maxExactInt = 1 << 53

func (e *encoder) number(f float64) {
	if f > -maxExactInt && f < maxExactInt { // not NaN, and int64(f) is defined
		if i := int64(f); float64(i) == f && (i != 0 || !math.Signbit(f)) {
			e.buf = append(e.buf, tagInt)
			e.buf = binary.AppendVarint(e.buf, i)
			return
		}
	}
	e.buf = append(e.buf, tagFloat)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
}

// reference writes a table, function or userdata: by reference when seen
// before, by name when a builtin, otherwise by value.
func (e *encoder) reference(v lua.LValue, depth int) error {
	if n, ok := e.refs[refKey(v)]; ok {
		e.buf = append(e.buf, tagRef)
		e.uvarint(n)
		return nil
	}
	if name, ok := e.vm.builtins.names[v]; ok {
		e.buf = append(e.buf, tagBuiltin)
		e.str(name)
		return nil
	}
	if depth >= e.vm.limits.MaxDepth {
		return e.refuse(fmt.Sprintf("the value is nested deeper than %d levels", e.vm.limits.MaxDepth))
	}
	switch v := v.(type) {
	case *lua.LTable:
		return e.table(v, depth+1)
	case *lua.LFunction:
		return e.function(v, depth+1)
	case *lua.LUserData:
		h, ok := v.Value.(Handle)
		if !ok {
			return e.refuse(fmt.Sprintf("a userdata (Go type %T) cannot cross processes", v.Value))
		}
		kind, id := h.Handle()
		e.vm.sentObject(id)
		e.buf = append(e.buf, tagHandle)
		e.str(kind)
		e.uvarint(id)
	}
	return nil
}

// remember numbers a table or function in the order of first appearance.
func (e *encoder) remember(v lua.LValue) {
	if e.refs == nil {
		e.refs = make(map[unsafe.Pointer]uint64)
	}
	e.refs[refKey(v)] = uint64(len(e.refs))
}

// refKey is what the encoder knows a table, function or userdata by: the
// pointer it is, which hashes faster than the interface holding it.
func refKey(v lua.LValue) unsafe.Pointer { return (*iface)(unsafe.Pointer(&v)).word }

func (e *encoder) table(t *lua.LTable, depth int) error {
	e.remember(t)
	e.buf = append(e.buf, tagTable)
	n := t.Len()
	e.uvarint(uint64(n))
	// The pair count comes before the contents; reserve one byte for it and
	// widen the field afterwards in the rare table with 128 pairs or more.
	at := len(e.buf)
	e.buf = append(e.buf, 0)
	if err := e.array(n, t.RawGetInt, depth); err != nil {
		return err
	}
	var pairs uint64
	err := eachPair(t, n, func(k, v lua.LValue) error {
		e.push(pathStep{kind: stepKeyItself, key: k})
		if err := e.value(k, depth); err != nil {
			return err
		}
		e.steps[len(e.steps)-1].kind = stepKey
		if err := e.value(v, depth); err != nil {
			return err
		}
		e.pop()
		pairs++
		return nil
	})
	if err != nil {
		return err
	}
	if pairs < 0x80 {
		e.buf[at] = byte(pairs)
	} else {
		var field [binary.MaxVarintLen64]byte
		size := binary.PutUvarint(field[:], pairs)
		e.buf = slices.Insert(e.buf, at+1, field[1:size]...)
		copy(e.buf[at:], field[:size])
	}
	e.push(pathStep{kind: stepMeta})
	if err := e.value(t.Metatable, depth); err != nil {
		return err
	}
	e.pop()
	return nil
}

// eachPair calls f with each pair of t after its array part's first n
// items, in the order of t.Next, until f fails. When lua.LTable's layout is
// known (codec_blocks.go) it walks the table's key list itself, where Next
// would look each key up again to find the one after.
func eachPair(t *lua.LTable, n int, f func(k, v lua.LValue) error) error {
	if !tableLayoutHolds {
		// Next from key n skips the array part already written.
		var k lua.LValue = lua.LNil
		if n > 0 {
			k = lua.LNumber(n)
		}
		for {
			var v lua.LValue
			if k, v = t.Next(k); k == lua.LNil {
				return nil
			}
			if err := f(k, v); err != nil {
				return err
			}
		}
	}
	l := (*tableLayout)(unsafe.Pointer(t))
	for i := n; i < len(l.array); i++ {
		if v := l.array[i]; v != lua.LNil {
			if err := f(lua.LNumber(i+1), v); err != nil {
				return err
			}
		}
	}
	for _, k := range l.keys {
		if v := t.RawGetH(k); v != lua.LNil {
			if err := f(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// array writes the array part of a table: item(1) to item(n).
func (e *encoder) array(n int, item func(int) lua.LValue, depth int) error {
	e.push(pathStep{kind: stepIndex})
	top := len(e.steps) - 1
	for i := 1; i <= n; i++ {
		e.steps[top].index = i
		if err := e.value(item(i), depth); err != nil {
			return err
		}
	}
	e.pop()
	return nil
}

// list writes items as a table whose array holds them, nils included, and
// that has nothing else: the bytes of such a table, without building it.
func (e *encoder) list(items []lua.LValue) error {
	// The list takes the number its table would have; lua.LNil stands for
	// it, as no reference is ever looked up by nil.
	e.remember(lua.LNil)
	e.buf = append(e.buf, tagTable)
	e.uvarint(uint64(len(items)))
	e.buf = append(e.buf, 0) // no pairs
	if err := e.array(len(items), func(i int) lua.LValue { return items[i-1] }, 1); err != nil {
		return err
	}
	e.buf = append(e.buf, tagNil) // no metatable
	return nil
}
