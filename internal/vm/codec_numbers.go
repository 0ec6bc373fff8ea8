package vm

import (
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// numberBoxes boxes the numbers that a decoder makes, as gopher-lua's own
// allocator does (its alloc.go): an LNumber stored in an LValue otherwise
// costs an allocation of 8 bytes each, the most of decoding a list of
// numbers. Here the numbers share blocks of float64s, and each LValue points
// into one. A block is freed once none of its numbers is referenced. Blocks
// start small and double, so that a message with a few numbers among other
// things costs little more than before, and a number kept from it keeps
// little alive.
type numberBoxes struct {
	block []float64
}

// Sizes of a block: a number kept alive keeps at most 2 KB.
const (
	minNumberBlock = 2
	maxNumberBlock = 256
)

// iface is how Go lays out a non-empty interface value.
type iface struct {
	itab unsafe.Pointer
	word unsafe.Pointer
}

// box returns n as an LValue. left is the bytes left in the message, which
// bound the numbers still to come (each takes two bytes or more), so that a
// block is never much larger than the message.
func (b *numberBoxes) box(n lua.LNumber, left int) lua.LValue {
	if len(b.block) == cap(b.block) {
		size := min(max(2*cap(b.block), minNumberBlock), maxNumberBlock, left/2+1)
		b.block = make([]float64, 0, size)
	}
	b.block = append(b.block, float64(n))
	var v lua.LValue = lua.LNumber(0) // its itab; zero needs no allocation
	(*iface)(unsafe.Pointer(&v)).word = unsafe.Pointer(&b.block[len(b.block)-1])
	return v
}
