package vm

import (
	"fmt"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The codec turns a Lua value of one VM into bytes that another VM, in
// another process, turns back into an equal value: a deep-copied snapshot.
//
// Format (version 2): one version byte, then one value. A value is a tag byte
// and what the tag says follows:
//
//	tagNil, tagFalse, tagTrue
//	tagInt    zigzag varint (integral numbers that are exactly representable)
//	tagFloat  8 bytes, the float64 bits little-endian (NaN, ±Inf, -0 exact)
//	tagString uvarint length, bytes
//	tagTable  uvarint n, uvarint m, n array values (1..n), m key/value
//	          pairs, then the metatable value (tagNil for none)
//	tagRef    uvarint index of a table or function seen before in this message
//	tagFunc   proto, uvarint upvalue count, each upvalue cell (uvarint 0 and
//	          a value for a new cell, k for the k-th cell seen before), uvarint
//	          global count, each global as name (uvarint length, bytes) and value
//	tagBuiltin uvarint length, name: a standard-library or mp member
//	tagHandle  uvarint length, kind, uvarint id: a host-owned object
//	tagInt32s uvarint k, k int32s (4 bytes little-endian each): k numbers
//	tagFloats uvarint k, k float64s (8 bytes each, as tagFloat): k numbers
//
// tagInt32s and tagFloats, runs, stand only in a table's array part, for k
// of its values in a row (k of the n), and are written for runs of numbers
// of minRun or more; an integral number that fits in an int32 (not -0) is
// written in 4 bytes, any other in 8.
//
// A proto is uvarint 0 followed by a chunk and a path (uvarint length, then
// uvarint indexes through FunctionPrototypes), or k for the k-th proto seen
// before. A chunk is uvarint 0 followed by 16 ID bytes, or k for the k-th
// chunk seen before. Tables and functions are numbered in the order they
// first appear, so cycles and shared references come back as they were.
const codecVersion = 2

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagTable
	tagRef
	tagFunc
	tagBuiltin
	tagHandle
	tagInt32s
	tagFloats
)

// runWidth is the bytes a number takes in a run of tag's kind (tagInt32s,
// tagFloats), or 0 when tag starts no run.
func runWidth(tag byte) int {
	switch tag {
	case tagInt32s:
		return 4
	case tagFloats:
		return 8
	}
	return 0
}

// Limits bound the codec, so that neither a runaway value nor hostile bytes
// can exhaust the stack or memory. This is the one place they are set.
type Limits struct {
	MaxDepth int // nesting of tables and functions
	MaxBytes int // size of one encoded value
}

// DefaultLimits are the limits a VM uses unless its Options say otherwise.
var DefaultLimits = Limits{MaxDepth: 10000, MaxBytes: 256 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	return l
}

// Encode snapshots v as bytes for another process. root names v in errors
// ("args", "item"): a value that cannot cross processes is refused with a
// [*SendError] naming its path from root and its source line.
func (vm *VM) Encode(root string, v lua.LValue) ([]byte, error) {
	return vm.encodeTo(make([]byte, 0, 64), root, v)
}

// maxScratch bounds the scratch buffer a VM keeps between encodings.
const maxScratch = 1 << 20

// encodeSent encodes a value that goes to the runtime with a call, with
// encode appending it to the buffer given. When the runtime copies what it
// is given (a ValueCopier), the buffer is the VM's scratch buffer, which
// the next call overwrites: a 10 KB queue item then costs no allocation in
// the sender.
func (vm *VM) encodeSent(encode func(buf []byte) ([]byte, error)) ([]byte, error) {
	if _, copies := vm.runtime.(ValueCopier); !copies {
		return encode(make([]byte, 0, 64))
	}
	data, err := encode(vm.scratch[:0])
	if err == nil && cap(data) <= maxScratch {
		vm.scratch = data[:0]
	}
	return data, err
}

func (vm *VM) encodeTo(buf []byte, root string, v lua.LValue) ([]byte, error) {
	e := encoder{vm: vm, root: root, buf: append(buf, codecVersion)}
	mark := vm.holdMark()
	if err := e.value(v, 0); err != nil {
		vm.unsent(mark)
		return nil, err
	}
	vm.reportHolds() // the handles sent hold their objects before the message leaves
	return e.buf, nil
}

// appendList appends to buf the bytes that Encode gives for a table whose
// array holds items (nils included) and that has nothing else, without
// building the table: a pool's chunk of items or of results. A value that
// cannot cross processes is refused as Encode refuses it, its path
// root[i]...
func (vm *VM) appendList(buf []byte, root string, items []lua.LValue) ([]byte, error) {
	return vm.appendItems(buf, root, 0, len(items), func(i int) lua.LValue { return items[i] })
}

// appendItems is appendList of the items item(from) to item(to-1).
func (vm *VM) appendItems(buf []byte, root string, from, to int, item func(int) lua.LValue) ([]byte, error) {
	e := encoder{vm: vm, root: root, buf: append(buf, codecVersion)}
	mark := vm.holdMark()
	if err := e.list(from, to-from, item); err != nil {
		vm.unsent(mark)
		return nil, err
	}
	vm.reportHolds() // the handles sent hold their objects before the message leaves
	return e.buf, nil
}

// Decode rebuilds a value encoded by [VM.Encode] in this or another VM, out
// of a message delivered once to this process: each handle's token becomes
// this process's hold on the object (see holds.go). Hostile or corrupt bytes
// give an error, never a panic, and allocation stays in proportion to
// len(data).
func (vm *VM) Decode(data []byte) (lua.LValue, error) {
	return decodeWith(vm, data, received, (*decoder).value)
}

// decodeList rebuilds the items of a list encoded by appendList (or of a
// table with only an array part and no metatable), delivered once, without
// building its table; other values are refused.
func (vm *VM) decodeList(data []byte) ([]lua.LValue, error) {
	return decodeWith(vm, data, received, (*decoder).list)
}

// decodeAs is Decode for a carrier whose handles tell the host r.
func (vm *VM) decodeAs(r receipt, data []byte) (lua.LValue, error) {
	return decodeWith(vm, data, r, (*decoder).value)
}

// decodeWith checks data's size and version, decodes its one value with
// read, and checks that nothing is left over. Its handles tell the host r.
func decodeWith[T any](vm *VM, data []byte, r receipt, read func(*decoder, int) (T, error)) (T, error) {
	var zero T
	if len(data) > vm.limits.MaxBytes {
		return zero, fmt.Errorf("decode: message of %d bytes is over the limit of %d", len(data), vm.limits.MaxBytes)
	}
	if len(data) == 0 || data[0] != codecVersion {
		return zero, fmt.Errorf("decode: not a version %d message", codecVersion)
	}
	d := vm.spareDecoder.Swap(nil)
	if d == nil {
		d = &decoder{vm: vm}
	}
	defer vm.putDecoder(d)
	d.data, d.pos, d.receipt = data, 1, r
	v, err := read(d, 0)
	if err != nil {
		return zero, fmt.Errorf("decode: at byte %d: %w", d.pos, err)
	}
	if d.pos != len(data) {
		return zero, fmt.Errorf("decode: %d bytes left over after the value", len(data)-d.pos)
	}
	return v, nil
}

// putDecoder keeps d for the VM's next decode: a decoder is too large to
// make for every small message (a queue's ints), and its blocks (numbers,
// strings, tables) go on serving the next message. What refers to the
// message's own values is dropped; a decoder that grew large is not kept.
func (vm *VM) putDecoder(d *decoder) {
	if cap(d.refs) > maxKeptRefs || cap(d.scratch) > maxKeptRefs {
		return
	}
	clear(d.refs)
	clear(d.cells)
	clear(d.protos)
	clear(d.scratch)
	d.data, d.receipt, d.padding = nil, 0, 0
	d.refs, d.cells, d.protos, d.chunks, d.scratch = d.refs[:0], d.cells[:0], d.protos[:0], d.chunks[:0], d.scratch[:0]
	vm.spareDecoder.Store(d)
}

// maxKeptRefs bounds the references a kept decoder has room for.
const maxKeptRefs = 4096

// SendError reports a value that cannot cross processes.
type SendError struct {
	Path   string // where the value sits, e.g. "args[1].cb upvalue 'co' (job.lua:12)"
	Reason string // e.g. "a coroutine cannot cross processes"
}

func (e *SendError) Error() string {
	return fmt.Sprintf("cannot send %s: %s", e.Path, e.Reason)
}

// pathStep is one step from the root to the value being encoded. Steps are
// kept cheap and rendered only when a value is refused.
type pathStep struct {
	kind  byte // stepIndex, stepKey, stepKeyItself, stepUpvalue, stepGlobal, stepMeta
	index int  // for stepIndex
	key   lua.LValue
	name  string
	proto *lua.FunctionProto
}

const (
	stepIndex     = iota // the value at an index of the array part
	stepKey              // the value at key
	stepKeyItself        // the key itself
	stepUpvalue
	stepGlobal
	stepMeta
)

func renderPath(root string, steps []pathStep) string {
	var b strings.Builder
	b.WriteString(root)
	for _, s := range steps {
		switch s.kind {
		case stepIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		case stepKey, stepKeyItself:
			if s.kind == stepKeyItself {
				b.WriteString(" key ")
			}
			writeKey(&b, s.key)
		case stepUpvalue:
			fmt.Fprintf(&b, " upvalue '%s' (%s)", s.name, protoWhere(s.proto))
		case stepGlobal:
			fmt.Fprintf(&b, " global '%s' (%s)", s.name, protoWhere(s.proto))
		case stepMeta:
			b.WriteString(" metatable")
		}
	}
	return b.String()
}

func writeKey(b *strings.Builder, k lua.LValue) {
	switch k := k.(type) {
	case lua.LString:
		if isIdentifier(string(k)) {
			if b.Len() > 0 {
				b.WriteString(".")
			}
			b.WriteString(string(k))
		} else {
			b.WriteString("[" + strconv.Quote(string(k)) + "]")
		}
	case lua.LNumber:
		b.WriteString("[" + k.String() + "]")
	default:
		b.WriteString("[" + k.Type().String() + "]")
	}
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// protoWhere is "file:line" of a function's definition.
func protoWhere(p *lua.FunctionProto) string {
	return fmt.Sprintf("%s:%d", p.SourceName, p.LineDefined)
}
