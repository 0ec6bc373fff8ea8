package objects

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Registry names the host's shared objects by id and tells them when a process dies. Ids start
// at 1 and are never reused. An object belongs to at most one Registry.
type Registry struct {
	mu      sync.RWMutex
	next    uint64
	objects map[uint64]any
	dead    graveyard
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{objects: make(map[uint64]any)}
}

// Add stores obj and returns its new id. Objects of this package learn which owners are dead
// from the Registry they are added to; any other value is stored as it is.
func (r *Registry) Add(obj any) uint64 {
	if a, ok := obj.(interface{ attach(*graveyard) }); ok {
		a.attach(&r.dead)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.objects[r.next] = obj
	return r.next
}

// Get returns the object with the given id, or an error wrapping ErrNoObject.
func (r *Registry) Get(id uint64) (any, error) {
	r.mu.RLock()
	obj, ok := r.objects[id]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: id %d", ErrNoObject, id)
	}
	return obj, nil
}

// Remove forgets the object with the given id; blocked calls on it are not disturbed.
func (r *Registry) Remove(id uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.objects[id]; !ok {
		return fmt.Errorf("%w: id %d", ErrNoObject, id)
	}
	delete(r.objects, id)
	return nil
}

// Len is the number of objects held.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.objects)
}

// Lookup returns the object with the given id as a T (say *Queue), or an error wrapping
// ErrNoObject when there is none or it is not a T.
func Lookup[T any](r *Registry, id uint64) (T, error) {
	obj, err := r.Get(id)
	if err != nil {
		var zero T
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: id %d is a %T, not a %T", ErrNoObject, id, obj, zero)
	}
	return t, nil
}

// Queue returns the queue with the given id, plain or joinable, or an error wrapping
// ErrNoObject.
func (r *Registry) Queue(id uint64) (*Queue, error) {
	obj, err := r.Get(id)
	if err != nil {
		return nil, err
	}
	switch q := obj.(type) {
	case *Queue:
		return q, nil
	case *JoinableQueue:
		return &q.Queue, nil
	}
	return nil, fmt.Errorf("%w: id %d is a %T, not a queue", ErrNoObject, id, obj)
}

// Died is called by the host when a process has died (or exited). It marks owner dead, so that
// calls still in flight for it fail with ErrOwnerDied, then, in every object: releases the
// locks it held and returns its semaphore permits (the next acquirer gets abandoned=true),
// breaks the barriers it waits at, drops it from the holders of pipe ends and closes the ends
// nobody alive holds, and wakes its blocked calls with ErrOwnerDied. Died is idempotent.
func (r *Registry) Died(owner Owner) {
	r.dead.bury(owner)
	r.mu.RLock()
	mortal := make([]interface{ died(Owner) }, 0, len(r.objects))
	for _, obj := range r.objects {
		if m, ok := obj.(interface{ died(Owner) }); ok {
			mortal = append(mortal, m)
		}
	}
	r.mu.RUnlock()
	for _, m := range mortal {
		m.died(owner)
	}
}

// Release lets go of what the objects hold outside the process (the sockets of pipes), once
// no process will use them: they are closed.
func (r *Registry) Release() {
	r.mu.RLock()
	var held []interface{ Release() }
	for _, obj := range r.objects {
		if o, ok := obj.(interface{ Release() }); ok {
			held = append(held, o)
		}
	}
	r.mu.RUnlock()
	for _, o := range held {
		o.Release()
	}
}

// IsDead reports whether Died has been called for owner.
func (r *Registry) IsDead(owner Owner) bool { return r.dead.has(owner) }

// graveyard is the set of dead owners of one Registry. Deaths are rare and lookups happen on
// every acquire, so it is a sync.Map (lock-free reads) behind a count that skips it entirely
// while nobody has died.
type graveyard struct {
	count atomic.Int64
	dead  sync.Map // Owner -> struct{}
}

// bury adds owner to the set.
func (g *graveyard) bury(owner Owner) {
	if _, loaded := g.dead.LoadOrStore(owner, struct{}{}); !loaded {
		g.count.Add(1)
	}
}

// has reports whether owner is in the set.
func (g *graveyard) has(owner Owner) bool {
	if g.count.Load() == 0 {
		return false
	}
	_, ok := g.dead.Load(owner)
	return ok
}

// life connects an object to the graveyard of the Registry it was added to. Objects embed it;
// until they are added to a Registry every owner counts as alive.
type life struct {
	g atomic.Pointer[graveyard]
}

// attach is called by Registry.Add.
func (l *life) attach(g *graveyard) { l.g.Store(g) }

// dead reports whether owner has died.
func (l *life) dead(owner Owner) bool {
	g := l.g.Load()
	return g != nil && g.has(owner)
}
