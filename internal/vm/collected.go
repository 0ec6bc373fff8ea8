package vm

import "sync"

// collected is what Go's cleanups report of the userdata they ran for: a
// cleanup runs on a goroutine of its own and adds to it; the VM's goroutine
// takes what is there at its next call. Keep it behind a pointer that the
// cleanup holds, never the VM: a cleanup that reaches the VM keeps it alive.
type collected[T any] struct {
	mu    sync.Mutex
	items []T
}

// add records v; it is safe from any goroutine.
func (c *collected[T]) add(v T) {
	c.mu.Lock()
	c.items = append(c.items, v)
	c.mu.Unlock()
}

// take returns what was added since the last take.
func (c *collected[T]) take() []T {
	c.mu.Lock()
	items := c.items
	c.items = nil
	c.mu.Unlock()
	return items
}

// any reports whether something was added since the last take.
func (c *collected[T]) any() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items) > 0
}
