package objects

// fifo is a growable ring buffer of items, the storage of a Queue. The zero fifo is empty. It is
// guarded by the mutex of the object that holds it.
type fifo struct {
	buf  [][]byte // len(buf) is 0 or a power of two
	head int      // index of the oldest item
	n    int
}

// minFIFO is the smallest buffer a fifo keeps, so that a queue that is filled and emptied at a
// steady pace does not reallocate.
const minFIFO = 64

func (f *fifo) len() int { return f.n }

// push adds item at the back.
func (f *fifo) push(item []byte) {
	if f.n == len(f.buf) {
		f.resize(max(2*len(f.buf), minFIFO))
	}
	f.buf[(f.head+f.n)&(len(f.buf)-1)] = item
	f.n++
}

// pop removes and returns the oldest item; the fifo must not be empty.
func (f *fifo) pop() []byte {
	item := f.buf[f.head]
	f.buf[f.head] = nil // let the item be collected
	f.head = (f.head + 1) & (len(f.buf) - 1)
	f.n--
	if len(f.buf) > minFIFO && f.n < len(f.buf)/4 {
		f.resize(len(f.buf) / 2)
	}
	return item
}

// resize moves the items, oldest first, into a buffer of size items.
func (f *fifo) resize(size int) {
	buf := make([][]byte, size)
	for i := range f.n {
		buf[i] = f.buf[(f.head+i)&(len(f.buf)-1)]
	}
	f.buf, f.head = buf, 0
}

// take removes and returns every item, oldest first.
func (f *fifo) take() [][]byte {
	items := make([][]byte, f.n)
	for i := range items {
		items[i] = f.buf[(f.head+i)&(len(f.buf)-1)]
	}
	*f = fifo{}
	return items
}
