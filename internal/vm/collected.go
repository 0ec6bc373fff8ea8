package vm

import (
	"sync"
	"sync/atomic"
)

// collected is what Go's cleanups report of the userdata they ran for: a
// cleanup runs on a goroutine of its own and adds to it; the VM's goroutine
// takes what is there at its next call. Keep it behind a pointer that the
// cleanup holds, never the VM: a cleanup that reaches the VM keeps it alive.
type collected[T any] struct {
	mu    sync.Mutex
	items []T
	// some is set while items holds anything: the VM looks before every
	// call to the runtime, and a look costs a load, not a lock.
	some atomic.Bool
}

// add records v; it is safe from any goroutine.
func (c *collected[T]) add(v T) {
	c.mu.Lock()
	c.items = append(c.items, v)
	c.some.Store(true)
	c.mu.Unlock()
}

// take returns what was added since the last take.
func (c *collected[T]) take() []T {
	if !c.some.Load() {
		return nil
	}
	c.mu.Lock()
	items := c.items
	c.items = nil
	c.some.Store(false)
	c.mu.Unlock()
	return items
}

// any reports whether something was added since the last take.
func (c *collected[T]) any() bool { return c.some.Load() }
