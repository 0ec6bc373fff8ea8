package objects

import "slices"

// What holds an object: each process whose VM has a userdata for it, and each copy of its
// handle in transit (encoded into a queue item, a pipe message, a process's arguments, ... and
// not yet decoded by its receiver). Lua has no finalizers; the VMs watch their userdata with
// Go's cleanups and report, in batches, when they hold an object and when they no longer do
// (Registry.Adjust). A process may also close its hold (Registry.Close, a pipe end's close) while
// it keeps the userdata. An object that no process holds and no handle is on its way to is
// released (a pipe end is closed for every process); once no process has a userdata for it
// either, its index is handed out again with the next generation.

// Ids: the low indexBits bits are the index, the rest the generation.
const (
	indexBits = 32
	indexMask = 1<<indexBits - 1
)

// Change is a change in what holds one object, as a process reports it.
type Change struct {
	ID      uint64
	Held    int8  // +1: the process holds the object from now on; -1: it no longer does
	Transit int32 // copies of the handle the process sent (+) or received (-)
}

// letting is what changes of holds let go of, done once the Registry's lock is released.
type letting struct {
	left     []interface{ died(Owner) } // objects an owner left that others still hold
	reopened []*PipeEnd                 // ends an owner that had closed them holds again
	released []any                      // objects nothing holds any more
	freed    []freed                    // objects forgotten, whose ids go out again
}

// Adjust applies owner's changes, in order, and frees the objects that nothing holds any more.
// Changes for ids the Registry does not hold, or holds with Add, are ignored: a process may
// report the drop of an object that was removed meanwhile.
func (r *Registry) Adjust(owner Owner, changes []Change) {
	var l letting
	r.mu.Lock()
	for _, c := range changes {
		e, ok := r.objects[c.ID]
		if !ok || !e.tracked {
			continue
		}
		e.transit += int64(c.Transit)
		switch {
		case c.Held > 0:
			if i := slices.Index(e.closers, owner); i >= 0 {
				e.closers = slices.Delete(e.closers, i, i+1)
				if p, ok := e.obj.(*PipeEnd); ok {
					l.reopened = append(l.reopened, p)
				}
			}
			if !slices.Contains(e.holders, owner) {
				e.holders = append(e.holders, owner)
			}
		case c.Held < 0 && e.leave(owner):
			if m, ok := e.obj.(interface{ died(Owner) }); ok && (len(e.holders) > 0 || len(e.closers) > 0 || e.transit > 0) {
				l.left = append(l.left, m)
			}
		}
		r.settle(&l, c.ID, e)
	}
	r.mu.Unlock()
	l.finish(r, owner)
}

// Close ends owner's hold on the object with the given id, as closing a file descriptor does,
// while owner keeps its handle: the object is released once nobody else holds it either, and
// its id stays until owner drops the handle (Adjust) or dies. On a pipe end, owner's later
// sends, receives and polls fail with ErrUseAfterClose, until it receives the end again.
// Closing twice is harmless.
func (r *Registry) Close(owner Owner, id uint64) {
	var l letting
	r.mu.Lock()
	e, ok := r.objects[id]
	if ok && e.tracked {
		if p, isPipe := e.obj.(*PipeEnd); isPipe {
			p.closeFor(owner)
		}
		if i := slices.Index(e.holders, owner); i >= 0 {
			e.holders = slices.Delete(e.holders, i, i+1)
			e.closers = append(e.closers, owner)
			r.settle(&l, id, e)
		}
	}
	r.mu.Unlock()
	l.finish(r, owner)
}

// leave drops owner from the processes that hold the entry or closed it; it reports whether
// owner was one of them.
func (e *entry) leave(owner Owner) bool {
	if i := slices.Index(e.holders, owner); i >= 0 {
		e.holders = slices.Delete(e.holders, i, i+1)
		return true
	}
	if i := slices.Index(e.closers, owner); i >= 0 {
		e.closers = slices.Delete(e.closers, i, i+1)
		return true
	}
	return false
}

// settle releases the entry's object once nothing holds it, and forgets it once no process
// has its handle either. r.mu is held.
func (r *Registry) settle(l *letting, id uint64, e *entry) {
	if len(e.holders) > 0 || e.transit > 0 {
		return
	}
	if !e.released {
		e.released = true
		l.released = append(l.released, e.obj)
	}
	if len(e.closers) == 0 {
		delete(r.objects, id)
		l.freed = append(l.freed, freed{id, e.obj})
	}
}

// finish does what l collected, for owner, outside the Registry's lock.
func (l *letting) finish(r *Registry, owner Owner) {
	for _, m := range l.left {
		r.ownerLeft(m, owner)
	}
	for _, p := range l.reopened {
		p.reopenFor(owner)
	}
	r.release(l.released)
	r.reuse(l.freed)
}

// letGo drops owner, which has died, from the holders of every object, and frees the objects
// that nothing holds any more.
func (r *Registry) letGo(owner Owner) {
	var l letting
	r.mu.Lock()
	for id, e := range r.objects {
		if e.tracked && e.leave(owner) {
			r.settle(&l, id, e)
		}
	}
	r.mu.Unlock()
	r.release(l.released)
	r.reuse(l.freed)
}

// Holds reports the processes that hold the object with the given id and the copies of its
// handle in transit; ok is false when the Registry does not hold it with AddHeld.
func (r *Registry) Holds(id uint64) (holders []Owner, transit int64, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.objects[id]
	if !ok || !e.tracked {
		return nil, 0, false
	}
	return slices.Clone(e.holders), e.transit, true
}

// ownerLeft tells m that owner, dead or no longer holding it, has left it; for a pipe end, the
// id of owner's tally goes too.
func (r *Registry) ownerLeft(m interface{ died(Owner) }, owner Owner) {
	e, isPipe := m.(*PipeEnd)
	var tally uint64
	if isPipe {
		e.mu.Lock()
		tally = e.tallies[owner].id
		e.mu.Unlock()
	}
	m.died(owner)
	if tally != 0 {
		r.Remove(tally)
	}
}

// release lets go of what released objects hold: a queue's items, a Value's content and a
// pool's functions are dropped (OnDrop); a pipe end is closed for every process (its sockets go
// once both ends are), and the ids of its tallies are removed. It runs before their ids are
// recycled: a closing end writes to its slot (and to its peer's, whose id waits: see reuse).
func (r *Registry) release(objs []any) {
	for _, obj := range objs {
		if d, ok := obj.(interface{ discard() }); ok {
			d.discard()
		}
		e, ok := obj.(*PipeEnd)
		if !ok {
			continue
		}
		e.close()
		for _, id := range e.takeTallies() {
			r.Remove(id)
		}
	}
}
