package objects

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mphost/mphost/internal/slots"
)

// Registry names the host's shared objects by id and tells them when a process dies.
//
// An id's low 32 bits are its index, which names the object's slot in the memory shared with
// children (package slots); its high bits are the index's generation. An object added with
// AddHeld is freed once nothing holds it (see holds.go): its index goes back to be used again
// with the next generation (a pipe end's once both ends are closed), so an id is never used
// twice, a stale id finds nothing, and nothing writes to a slot for an object it no longer
// has. An object added with Add stays until Remove. An object belongs to at most one Registry.
type Registry struct {
	mu      sync.RWMutex
	next    uint64   // the highest index handed out
	free    []uint64 // ids to hand out again: freed indexes with their next generation
	objects map[uint64]*entry
	dead    graveyard
	onFree  func(id uint64)
	onDrop  func(data []byte)
	seats   sync.Map // Owner -> ownerSeat: the seat of each process in the shared memory
	mem     atomic.Pointer[slots.Slots]
}

// entry is one object and what holds it.
type entry struct {
	obj      any
	tracked  bool    // freed when nothing holds it
	holders  []Owner // the processes that hold it (a VM's userdata for it)
	closers  []Owner // the processes that closed their hold and still have its handle
	transit  int64   // copies of its handle in transit: sent and not yet received
	released bool    // nothing held it any more: it let go of what it holds outside
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{objects: make(map[uint64]*entry)}
}

// OnFree sets a function called with each id the Registry frees or removes, before the id is
// handed out again: the host clears the id's slot there. Set it before the first Add.
func (r *Registry) OnFree(f func(id uint64)) { r.onFree = f }

// OnDrop sets a function called with each item that an object of the Registry drops without
// delivering it, as the item's bytes: a queue's items when it is freed, an item a put could not
// put, a pipe's messages not yet received when an end closes, a Value's content that a Set
// replaces, a pool's functions and the arguments of tasks it never ran. The host lets go there
// of what the item's handles hold. Objects call it once per item, outside their locks, so it
// may call back into the Registry. Set it before the first Add.
func (r *Registry) OnDrop(f func(data []byte)) { r.onDrop = f }

// Add stores obj and returns its new id; obj stays until Remove. Objects of this package learn
// which owners are dead from the Registry they are added to; any other value is stored as it
// is.
func (r *Registry) Add(obj any) uint64 { return r.add(obj, false, 0) }

// AddHeld stores obj, held by owner, and returns its new id. It is freed once no process holds
// it and no copy of its handle is in transit (see Registry.Adjust and Registry.Died).
func (r *Registry) AddHeld(obj any, owner Owner) uint64 { return r.add(obj, true, owner) }

func (r *Registry) add(obj any, tracked bool, owner Owner) uint64 {
	if a, ok := obj.(interface{ attach(*Registry) }); ok {
		a.attach(r)
	}
	e := &entry{obj: obj, tracked: tracked}
	if tracked {
		e.holders = []Owner{owner}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var id uint64
	if n := len(r.free); n > 0 {
		id = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		r.next++
		id = r.next
	}
	r.objects[id] = e
	return id
}

// Get returns the object with the given id, or an error wrapping ErrNoObject.
func (r *Registry) Get(id uint64) (any, error) {
	r.mu.RLock()
	e, ok := r.objects[id]
	r.mu.RUnlock()
	if !ok {
		return nil, noObject(id)
	}
	return e.obj, nil
}

// noObject is the error for an id the Registry does not hold.
func noObject(id uint64) error {
	if gen := id >> indexBits; gen > 0 {
		return fmt.Errorf("%w: id %d (index %d, generation %d) was freed, or never made", ErrNoObject, id, id&indexMask, gen)
	}
	return fmt.Errorf("%w: id %d was freed, or never made", ErrNoObject, id)
}

// Remove forgets the object with the given id; blocked calls on it are not disturbed.
func (r *Registry) Remove(id uint64) error {
	r.mu.Lock()
	e, ok := r.objects[id]
	delete(r.objects, id)
	r.mu.Unlock()
	if !ok {
		return noObject(id)
	}
	r.reuse([]freed{{id, e.obj}})
	return nil
}

// freed is an object the Registry has forgotten, and its id.
type freed struct {
	id  uint64
	obj any
}

// reuse hands the indexes of objects forgotten and let go of out again: at once, or for a pipe
// end, once its pipe's sockets are released and nothing writes to the end's slot any more.
func (r *Registry) reuse(objs []freed) {
	for _, f := range objs {
		if e, ok := f.obj.(*PipeEnd); ok {
			e.retire(r, f.id)
			continue
		}
		r.recycle([]uint64{f.id})
	}
}

// recycle hands the indexes of ids, forgotten and let go of, out again with their next
// generation (see reuse).
func (r *Registry) recycle(ids []uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.onFree != nil {
			r.onFree(id)
		}
		if id>>indexBits < 1<<(64-indexBits)-1 {
			r.free = append(r.free, id+1<<indexBits)
		} // an index whose generations are all used is not used again
	}
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
// breaks the barriers it waits at, wakes its blocked calls with ErrOwnerDied, and drops it from
// what holds each object, freeing (closing, for a pipe end) what nothing holds any more. Died is
// idempotent.
func (r *Registry) Died(owner Owner) {
	r.dead.bury(owner)
	r.mu.RLock()
	mortal := make([]interface{ died(Owner) }, 0, len(r.objects))
	for _, e := range r.objects {
		if m, ok := e.obj.(interface{ died(Owner) }); ok {
			mortal = append(mortal, m)
		}
	}
	r.mu.RUnlock()
	for _, m := range mortal {
		r.ownerLeft(m, owner)
	}
	if s, ok := r.seats.LoadAndDelete(owner); ok {
		// Before the objects owner held are freed: their records may be given out again. A
		// seat lent here goes back; the host's stays with the child that runs the next process.
		if mem := r.mem.Load(); mem != nil {
			if s := s.(ownerSeat); s.lent {
				mem.Vacate(s.seat)
			} else {
				mem.GiveBack(s.seat)
			}
		}
	}
	r.letGo(owner)
}

// Release lets go of what the objects hold outside the process (the sockets of pipes), once
// no process will use them: they are closed.
func (r *Registry) Release() {
	r.mu.RLock()
	var held []interface{ Release() }
	for _, e := range r.objects {
		if o, ok := e.obj.(interface{ Release() }); ok {
			held = append(held, o)
		}
	}
	r.mu.RUnlock()
	for _, o := range held {
		o.Release()
	}
}

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

// life connects an object to the Registry it was added to: its graveyard and its OnDrop.
// Objects embed it; until they are added to a Registry every owner counts as alive and what
// they drop goes unreported.
type life struct {
	r atomic.Pointer[Registry]
}

// attach is called by Registry.Add.
func (l *life) attach(r *Registry) { l.r.Store(r) }

// dead reports whether owner has died.
func (l *life) dead(owner Owner) bool {
	r := l.r.Load()
	return r != nil && r.dead.has(owner)
}

// dropped reports items that the object drops without delivering them to the Registry's
// OnDrop, one call each. The caller holds none of its own locks.
func (l *life) dropped(items ...[]byte) {
	r := l.r.Load()
	if r == nil || r.onDrop == nil {
		return
	}
	for _, item := range items {
		if len(item) > 0 {
			r.onDrop(item)
		}
	}
}
