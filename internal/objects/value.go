package objects

import (
	"sync"

	"github.com/mphost/mphost/internal/slots"
)

// Content is what a Value holds: a number, which Add can work on, or any other value in the
// caller's encoding.
type Content struct {
	IsNumber bool
	Number   float64 // when IsNumber
	Encoded  []byte  // when not IsNumber
}

// NumberContent is Content holding the number n.
func NumberContent(n float64) Content { return Content{IsNumber: true, Number: n} }

// EncodedContent is Content holding a value the caller encoded as data.
func EncodedContent(data []byte) Content { return Content{Encoded: data} }

// Value is one shared value (Python's multiprocessing.Value). Get, Set and Add are each atomic
// on their own; a script that needs several steps at once holds the value's lock around them
// (v:with(f)). That lock is an RLock, as in Python, so nested with calls do not deadlock. Make
// one with NewValue.
//
// A Value given a slot (Share) keeps its number there, in memory that child processes map and
// change without asking the host (see package slots); content then holds only what is not a
// number, and the slot says which of the two the value holds.
type Value struct {
	life
	mu      sync.Mutex // guards content; never held while waiting
	content Content
	slot    *slots.Slot // nil: content holds numbers too
	lock    *RLock
}

// NewValue returns a Value holding initial.
func NewValue(initial Content) *Value { return &Value{content: initial, lock: NewRLock()} }

// Share moves the value's number to slot, before any other process knows of the value.
func (v *Value) Share(slot *slots.Slot) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if slot == nil {
		return
	}
	v.slot = slot
	v.storeLocked(v.content)
}

// storeLocked sets the value to c, in the slot when it is a number the slot holds.
func (v *Value) storeLocked(c Content) {
	if c.IsNumber && slots.Holds(c.Number) {
		v.slot.Store(c.Number)
		v.content = Content{}
		return
	}
	v.content = c
	v.slot.StoreOther()
}

// Get returns what the value holds. The caller must not change the returned Encoded bytes.
func (v *Value) Get() Content {
	if v.slot != nil {
		if n, ok := v.slot.Load(); ok {
			return NumberContent(n)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slot != nil {
		if n, ok := v.slot.Load(); ok { // set by another process meanwhile
			return NumberContent(n)
		}
	}
	return v.content
}

// Set replaces what the value holds; the value keeps c.Encoded, so the caller must not change it
// afterwards. The content it replaced is dropped (Registry.OnDrop).
func (v *Value) Set(c Content) {
	v.mu.Lock()
	old := v.content.Encoded
	if v.slot != nil {
		v.storeLocked(c)
	} else {
		v.content = c
	}
	v.mu.Unlock()
	v.dropped(old)
}

// discard drops what the value holds. The Registry calls it when it frees the value.
func (v *Value) discard() {
	v.mu.Lock()
	old := v.content.Encoded
	v.content = Content{}
	v.mu.Unlock()
	v.dropped(old)
}

// Add adds n to the number the value holds and returns the sum. It returns ErrNotNumber when
// the value holds something else, and ErrOwnerDied when owner has died.
func (v *Value) Add(owner Owner, n float64) (float64, error) {
	if v.dead(owner) {
		return 0, ErrOwnerDied
	}
	if v.slot != nil {
		if sum, ok := v.slot.Add(n); ok {
			return sum, nil
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.slot != nil {
		if sum, ok := v.slot.Add(n); ok { // set to a number meanwhile
			return sum, nil
		}
	}
	if !v.content.IsNumber {
		return 0, ErrNotNumber
	}
	sum := v.content.Number + n
	if v.slot != nil {
		v.storeLocked(NumberContent(sum))
	} else {
		v.content.Number = sum
	}
	return sum, nil
}

// Lock is the value's own lock, for v:with(f).
func (v *Value) Lock() *RLock { return v.lock }

// attach also attaches the value's lock.
func (v *Value) attach(r *Registry) {
	v.life.attach(r)
	v.lock.attach(r)
}

// died releases the value's lock if owner held it.
func (v *Value) died(owner Owner) { v.lock.died(owner) }
