package child

import (
	"runtime/debug"
	"runtime/metrics"
)

// An idle child gives back the memory that its last work left. Under the
// GC floor (vm.TuneGC) a process's garbage grows the heap to 64 MB before a
// collection, and Go's scavenger keeps what the heap goal allows, so the
// pages would stay with the child while it waits, for a Process in a wait or
// a child kept for the next process. Once a second the child looks at what
// it allocated since: when that is little (it waits) and it holds much more
// memory than it uses, it collects and returns the free pages to the system
// (debug.FreeOSMemory), once, until it allocates again. A child that holds
// little over its live heap, as a fresh one does, is left alone: a
// collection would cost it more than it frees (the first one makes the
// collector's own structures, about 1 MB).
const (
	idleAllocBytes  = 256 << 10 // allocated in a second by a child that waits
	idleExcessBytes = 4 << 20   // memory held over the live heap worth a collection
)

// idleMemory is the state of the checks: what had been allocated at the
// last one, and whether the memory has been returned since the child last
// worked.
type idleMemory struct {
	sample   []metrics.Sample
	last     uint64
	returned bool
}

func newIdleMemory() *idleMemory {
	return &idleMemory{sample: []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}}
}

// check runs once a second; it reports whether it returned memory.
func (m *idleMemory) check() bool {
	s := m.sample
	metrics.Read(s)
	allocs := s[0].Value.Uint64()
	busy := allocs-m.last > idleAllocBytes
	m.last = allocs
	if busy {
		m.returned = false
		return false
	}
	held := s[1].Value.Uint64() + s[2].Value.Uint64() + s[3].Value.Uint64()
	if m.returned || held <= s[4].Value.Uint64()+idleExcessBytes {
		return false
	}
	debug.FreeOSMemory()
	m.returned = true
	metrics.Read(s)
	m.last = s[0].Value.Uint64()
	return true
}
