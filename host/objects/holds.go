package objects

import "slices"

// What holds an object: each process whose VM has a userdata for it, and each copy of its
// handle in transit (encoded into a queue item, a pipe message, a process's arguments, ... and
// not yet decoded by its receiver). Lua has no finalizers; the VMs watch their userdata with
// Go's cleanups and report, in batches, when they first hold an object and when they no longer
// do (Registry.Adjust). An object that nothing holds any more is freed: a pipe end is closed,
// and the object's index is handed out again with the next generation.

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

// Adjust applies owner's changes, in order, and frees the objects that nothing holds any more.
// Changes for ids the Registry does not hold, or holds with Add, are ignored: a process may
// report the drop of an object that was removed meanwhile.
func (r *Registry) Adjust(owner Owner, changes []Change) {
	var freed []any
	var ids []uint64
	var left []interface{ died(Owner) } // objects owner let go of that others still hold
	r.mu.Lock()
	for _, c := range changes {
		e, ok := r.objects[c.ID]
		if !ok || !e.tracked {
			continue
		}
		e.transit += int64(c.Transit)
		switch i := slices.Index(e.holders, owner); {
		case c.Held > 0 && i < 0:
			e.holders = append(e.holders, owner)
		case c.Held < 0 && i >= 0:
			e.holders = slices.Delete(e.holders, i, i+1)
			if m, ok := e.obj.(interface{ died(Owner) }); ok && (len(e.holders) > 0 || e.transit > 0) {
				left = append(left, m)
			}
		}
		if len(e.holders) == 0 && e.transit <= 0 {
			freed, ids = append(freed, e.obj), append(ids, c.ID)
			delete(r.objects, c.ID)
		}
	}
	r.mu.Unlock()
	for _, m := range left {
		r.ownerLeft(m, owner)
	}
	r.release(freed)
	r.recycle(ids)
}

// letGo drops owner, which has died, from the holders of every object, and frees the objects
// that nothing holds any more.
func (r *Registry) letGo(owner Owner) {
	var freed []any
	var ids []uint64
	r.mu.Lock()
	for id, e := range r.objects {
		if !e.tracked {
			continue
		}
		if i := slices.Index(e.holders, owner); i >= 0 {
			e.holders = slices.Delete(e.holders, i, i+1)
			if len(e.holders) == 0 && e.transit <= 0 {
				freed, ids = append(freed, e.obj), append(ids, id)
				delete(r.objects, id)
			}
		}
	}
	r.mu.Unlock()
	r.release(freed)
	r.recycle(ids)
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

// release lets go of what freed objects hold outside the Registry: a pipe end is closed for
// every process (its sockets go once both ends are), and the ids of its tallies are removed.
// It runs before their ids are recycled: a closing end writes to its slot.
func (r *Registry) release(freed []any) {
	for _, obj := range freed {
		e, ok := obj.(*PipeEnd)
		if !ok {
			continue
		}
		e.mu.Lock()
		tallies := make([]uint64, 0, len(e.tallies))
		for _, t := range e.tallies {
			tallies = append(tallies, t.id)
		}
		e.mu.Unlock()
		e.close()
		for _, id := range tallies {
			r.Remove(id)
		}
	}
}
