package vm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// decoder holds the state of one Decode call. Every count it reads is
// checked against the bytes left, since each element takes at least one
// byte: allocation can never outgrow the message.
type decoder struct {
	vm      *VM
	data    []byte
	pos     int
	receipt receipt // what its handles tell the host

	padding int // array slots filled with nil to reach sparse integer keys
	numbers numberBoxes
	strings stringBoxes
	tables  tableBlocks
	scratch []lua.LValue // a run's numbers, on their way to their array

	refs   []lua.LValue
	cells  []*lua.Upvalue
	protos []*lua.FunctionProto
	chunks []ChunkID
}

var errTruncated = errors.New("message ends early")

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errTruncated
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	n, size := binary.Uvarint(d.data[d.pos:])
	if size <= 0 {
		if size == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	d.pos += size
	return n, nil
}

// count reads a number of elements that must still fit in the message.
func (d *decoder) count() (uint64, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.data)-d.pos) {
		return 0, fmt.Errorf("count %d exceeds the %d bytes left", n, len(d.data)-d.pos)
	}
	return n, nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n > len(d.data)-d.pos {
		return nil, errTruncated
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	return d.take(int(n))
}

func (d *decoder) value(depth int) (lua.LValue, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return lua.LNil, nil
	case tagFalse:
		return lua.LFalse, nil
	case tagTrue:
		return lua.LTrue, nil
	case tagInt:
		n, size := binary.Varint(d.data[d.pos:])
		if size <= 0 {
			return nil, errors.New("bad integer")
		}
		d.pos += size
		return d.numbers.box(lua.LNumber(n), len(d.data)-d.pos), nil
	case tagFloat:
		b, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return d.numbers.box(lua.LNumber(math.Float64frombits(binary.LittleEndian.Uint64(b))), len(d.data)-d.pos), nil
	case tagString:
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		return d.strings.box(b, len(d.data)-d.pos), nil
	case tagRef:
		n, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if n >= uint64(len(d.refs)) {
			return nil, fmt.Errorf("reference %d to a value not yet defined", n)
		}
		if d.refs[n] == nil {
			return nil, errors.New("reference to the list being decoded")
		}
		return d.refs[n], nil
	case tagBuiltin:
		name, err := d.bytes()
		if err != nil {
			return nil, err
		}
		v, ok := d.vm.builtins.values[string(name)]
		if !ok {
			v, ok, err = d.vm.loadBuiltin(string(name))
			if err != nil {
				return nil, err
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown builtin %q", name)
		}
		return v, nil
	case tagHandle:
		return d.handle()
	case tagTable, tagFunc:
		if depth >= d.vm.limits.MaxDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", d.vm.limits.MaxDepth)
		}
		if tag == tagTable {
			return d.table(depth + 1)
		}
		return d.function(depth + 1)
	}
	return nil, fmt.Errorf("unknown tag %d", tag)
}

// tableCounts reads the sizes of a table's array and of its other pairs.
func (d *decoder) tableCounts() (n, pairs uint64, err error) {
	if n, err = d.count(); err != nil {
		return 0, 0, err
	}
	pairs, err = d.count()
	return n, pairs, err
}

// table decodes a table, sized from the counts in the message (gopher-lua
// otherwise gives every table that gets a string key a 32-slot map), in the
// decoder's blocks (codec_blocks.go). The table is registered before its
// contents, so a cycle back to it finds it.
func (d *decoder) table(depth int) (lua.LValue, error) {
	n, pairs, err := d.tableCounts()
	if err != nil {
		return nil, err
	}
	t := d.tables.make(d.vm.L, int(n), int(pairs), len(d.data)-d.pos)
	d.refs = append(d.refs, t)
	for i := 1; i <= int(n); i++ {
		if d.atRun() {
			run, err := d.run(int(n)-i+1, nil)
			if err != nil {
				return nil, err
			}
			for _, v := range run {
				t.RawSetInt(i, v)
				i++
			}
			i--
			continue
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if v != lua.LNil {
			t.RawSetInt(i, v)
		}
	}
	for i := range pairs {
		k, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		switch kv := k.(type) {
		case *lua.LNilType:
			return nil, errors.New("table key is nil")
		case lua.LNumber:
			if math.IsNaN(float64(kv)) {
				return nil, errors.New("table key is NaN")
			}
			if err := d.checkGap(t, kv); err != nil {
				return nil, err
			}
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if v == lua.LNil {
			return nil, errors.New("table value is nil")
		}
		if _, ok := k.(lua.LString); ok {
			d.tables.setString(t, k, v, int(pairs-i), len(d.data)-d.pos)
		} else {
			t.RawSet(k, v)
		}
	}
	mt, err := d.value(depth)
	if err != nil {
		return nil, err
	}
	switch mt := mt.(type) {
	case *lua.LNilType:
	case *lua.LTable:
		t.Metatable = mt
	default:
		return nil, fmt.Errorf("metatable is a %s", mt.Type())
	}
	return t, nil
}

// list decodes a table with only an array part and no metatable into its
// items (see VM.decodeList).
func (d *decoder) list(depth int) ([]lua.LValue, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	if tag != tagTable {
		return nil, errors.New("not a list")
	}
	n, pairs, err := d.tableCounts()
	if err != nil {
		return nil, err
	}
	if pairs != 0 {
		return nil, errors.New("not a list: the table has keys besides its array")
	}
	d.refs = append(d.refs, nil) // the list's number; a reference to it is refused
	items := make([]lua.LValue, n)
	for i := 0; i < len(items); i++ {
		if d.atRun() {
			run, err := d.run(len(items)-i, items[i:])
			if err != nil {
				return nil, err
			}
			i += len(run) - 1
			continue
		}
		if items[i], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	if tag, err = d.byte(); err != nil {
		return nil, err
	}
	if tag != tagNil {
		return nil, errors.New("not a list: the table has a metatable")
	}
	return items, nil
}

// atRun reports whether a run of numbers (tagInt32s, tagFloats) comes next.
func (d *decoder) atRun() bool {
	return d.pos < len(d.data) && runWidth(d.data[d.pos]) != 0
}

// run decodes a run of numbers, at most most of them (the array's slots
// left), into dst, or into the decoder's scratch slice (which the next run
// reuses) when dst is nil; it returns them.
func (d *decoder) run(most int, dst []lua.LValue) ([]lua.LValue, error) {
	width := runWidth(d.data[d.pos])
	d.pos++
	k, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if k == 0 {
		return nil, errors.New("an empty run of numbers")
	}
	if k > uint64(most) {
		return nil, fmt.Errorf("a run of %d numbers overflows its array's %d slots left", k, most)
	}
	b, err := d.take(int(k) * width) // k <= most, which the message's size bounds
	if err != nil {
		return nil, err
	}
	if dst == nil {
		d.scratch = slices.Grow(d.scratch[:0], int(k))
		dst = d.scratch
	}
	dst = dst[:k]
	for j := 0; j < len(dst); {
		boxes := d.numbers.many(len(dst)-j, (len(d.data)-d.pos+len(b)-width*j)/width)
		for x := range boxes {
			if width == 4 {
				boxes[x] = float64(int32(binary.LittleEndian.Uint32(b[4*j:])))
			} else {
				boxes[x] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*j:]))
			}
			dst[j] = boxed(lua.LNumber(0), unsafe.Pointer(&boxes[x]))
			j++
		}
	}
	return dst, nil
}

// checkGap guards against a sparse integer key: gopher-lua keeps integer
// keys up to lua.MaxArrayIndex in an array, filling the gap below with nils,
// so a few hostile bytes could ask for a gigabyte. The gaps one message may
// open are bounded in proportion to its size.
func (d *decoder) checkGap(t *lua.LTable, k lua.LNumber) error {
	if k != lua.LNumber(int64(k)) || k < 1 || int64(k) >= int64(lua.MaxArrayIndex) {
		return nil // kept in the hash part
	}
	gap := int(k) - t.MaxN() - 1
	if gap <= 0 {
		return nil
	}
	d.padding += gap
	if budget := 1<<20 + 4*len(d.data); d.padding > budget {
		return fmt.Errorf("sparse integer key %d would fill an array of more than %d empty slots", int64(k), budget)
	}
	return nil
}

func (d *decoder) handle() (lua.LValue, error) {
	kind, err := d.bytes()
	if err != nil {
		return nil, err
	}
	id, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	rebuild, ok := d.vm.handles[string(kind)]
	if !ok {
		return nil, fmt.Errorf("unknown handle kind %q", kind)
	}
	v, err := rebuild(d.vm.L, id)
	if ud, ok := v.(*lua.LUserData); ok && err == nil {
		if _, isObject := ud.Value.(*objectRef); isObject {
			d.vm.watchObject(ud, id, d.receipt)
		}
	}
	return v, err
}
