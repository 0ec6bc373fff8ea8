package objects

// This file is the functions of a Pool: registered once per distinct function, shipped to each
// worker once, held while calls use them, and kept idle for a while after.

// poolFunc is a registered function: its encoded bytes, and the holds on it (AddFunction's,
// then its batches', and one for each of its tasks until it finishes, so that a forgotten
// batch's tasks still run). Without holds it is idle, and dropped when too many others are
// (see idleFunctions). Guarded by the pool's mutex.
type poolFunc struct {
	data    []byte
	holds   int
	lastUse uint64 // when its last hold was released, for the idle ones
}

// AddFunction registers a function's encoded bytes and returns its id for Submit. The same
// bytes get the same id while the pool keeps them, so that a function used by several calls is
// shipped to each worker once. Each call takes a hold on the function, which NewBatch takes
// over; once no batch or task holds it, the function is idle (see idleFunctions). The pool keeps
// fn: the caller must not change it.
func (p *Pool) AddFunction(fn []byte) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.funcIDs[string(fn)]
	if !ok {
		p.lastID++
		id = p.lastID
		p.funcs[id] = &poolFunc{data: fn}
		p.funcIDs[string(fn)] = id
	}
	p.funcs[id].holds++
	delete(p.idleFuncs, id)
	return id
}

// Function returns the bytes of function id, for a worker that no longer has them, and
// whether the pool still keeps it.
func (p *Pool) Function(id uint64) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.funcs[id]; f != nil {
		return f.data, true
	}
	return nil, false
}

// idleFunctions is how many functions that no call uses any more the pool keeps, the most
// recently used, so that calls of the same function one after the other (apply in a loop) keep
// its id, and the workers that have it are not sent it again.
const idleFunctions = 64

// release drops a hold on function id. A function without holds becomes idle; the oldest idle
// one beyond idleFunctions is dropped, and the workers that had it are sent it again should it
// be registered again. The caller holds p.mu.
func (p *Pool) release(id uint64) {
	f := p.funcs[id]
	if f == nil || f.holds == 0 {
		return // dropped, or idle: a release without a hold (a caller's mistake) does nothing
	}
	if f.holds--; f.holds > 0 {
		return
	}
	p.useCount++
	f.lastUse = p.useCount
	p.idleFuncs[id] = struct{}{}
	if len(p.idleFuncs) <= idleFunctions {
		return
	}
	oldest := id
	for other := range p.idleFuncs {
		if p.funcs[other].lastUse < p.funcs[oldest].lastUse {
			oldest = other
		}
	}
	old := p.funcs[oldest]
	delete(p.idleFuncs, oldest)
	delete(p.funcs, oldest)
	delete(p.funcIDs, string(old.data))
	for _, wk := range p.workers {
		delete(wk.shipped, oldest)
	}
}
