package objects

import (
	"context"
	"sync"
)

// Event is a flag that processes can wait for (Python's multiprocessing.Event). Make one with
// NewEvent.
type Event struct {
	mu  sync.Mutex
	set bool
	on  chan struct{} // closed while the flag is set; replaced by Clear
}

// NewEvent returns an Event whose flag is clear.
func NewEvent() *Event { return &Event{on: make(chan struct{})} }

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.set {
		e.set = true
		close(e.on)
	}
}

// Clear clears the flag.
func (e *Event) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.set {
		e.set = false
		e.on = make(chan struct{})
	}
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.set
}

// Wait waits, as w allows, until the flag is set, and reports whether it is: false when the wait
// ran out. It returns ctx.Err() when ctx ended the wait.
func (e *Event) Wait(ctx context.Context, w Wait) (bool, error) {
	e.mu.Lock()
	set, on := e.set, e.on
	e.mu.Unlock()
	if set || !w.mayBlock() {
		return set, nil
	}
	d := w.start()
	err := d.await(ctx, on)
	d.stop()
	switch err {
	case nil:
		return true, nil
	case errTimedOut:
		return e.IsSet(), nil
	}
	return false, err
}
