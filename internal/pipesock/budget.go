package pipesock

import (
	"context"
	"sync"
)

// What the host holds for its ends (their backlogs and held messages) is
// bounded twice: per end, by its capacity (Conn.Bound), and for all the
// ends together, by the Budget they share. A send past either bound waits
// until the reader has read enough; a message larger than the bound goes
// once the end (or the whole budget) holds nothing, so it never waits
// forever for room that cannot come.

// DefaultCapacity is what an end holds unless its pipe says otherwise.
const DefaultCapacity = 64 << 20

// Budget bounds the bytes that the host holds for the ends that share it.
// Its methods may be called from any goroutine.
type Budget struct {
	mu   sync.Mutex
	max  int64
	used int64
	room chan struct{} // closed when used goes down (or an end is shut), then replaced
}

// NewBudget returns a Budget of max bytes.
func NewBudget(max int64) *Budget {
	return &Budget{max: max, room: make(chan struct{})}
}

// take adds n bytes if they fit (or nothing is held); otherwise it returns
// a channel closed when there may be room.
func (b *Budget) take(n int64) (ok bool, room <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == 0 || b.used+n <= b.max {
		b.used += n
		return true, nil
	}
	return false, b.room
}

// waiting returns the channel closed when there may be room.
func (b *Budget) waiting() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.room
}

// give takes n bytes off and wakes the waiting senders.
func (b *Budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.wakeLocked()
}

// wake wakes the waiting senders, to look again (an end was shut).
func (b *Budget) wake() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wakeLocked()
}

func (b *Budget) wakeLocked() {
	close(b.room)
	b.room = make(chan struct{})
}

// Bound makes the host's side of the end hold at most capacity bytes of
// messages not yet in the socket, within budget, which it shares with
// other ends. It is called before anyone sends on the Conn. Without it, the
// end's backlog has no bound.
func (c *Conn) Bound(capacity int64, budget *Budget) {
	c.capacity, c.budget = capacity, budget
}

// reserve waits until the end, and its budget, have room for n bytes,
// then counts them (a closed end refuses at once); they are given back (unreserveLocked) once the message
// is in the socket, or once its reader has taken it from the host. It
// returns ErrClosed when the end is shut and ctx.Err() when ctx ends the
// wait.
func (c *Conn) reserve(ctx context.Context, n int64) error {
	for {
		c.mu.Lock()
		if c.shut || c.Refuses() {
			c.mu.Unlock()
			return ErrClosed
		}
		if c.budget == nil {
			c.mu.Unlock()
			return nil
		}
		var room <-chan struct{}
		if c.bytes == 0 || c.bytes+n <= c.capacity {
			var ok bool
			if ok, room = c.budget.take(n); ok {
				c.bytes += n
				c.mu.Unlock()
				return nil
			}
		} else {
			room = c.budget.waiting()
		}
		c.waiters++
		c.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
		}
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// unreserveLocked gives back n bytes that reserve counted.
func (c *Conn) unreserveLocked(n int64) {
	if c.budget != nil && n > 0 {
		c.bytes -= n
		c.budget.give(n)
	}
}

// Holding returns the bytes that the host holds for the end, and the
// number of sends that wait for room.
func (c *Conn) Holding() (bytes int64, waiting int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.waiters
}
