package objects

// This file is the functions of a Pool: registered once per distinct function, shipped to each
// worker once, held while calls use them, and kept idle for a while after.

// poolFunc is a registered function: its encoded bytes, and the holds on it (AddFunction's,
// then its batches', and one for each of its tasks until it finishes, so that a forgotten
// batch's tasks still run). Without holds it is idle, and dropped when too many others are
// (see idleFunctions). Guarded by the pool's mutex.
type poolFunc struct {
	data    string // the bytes, the same string as its key in Pool.funcIDs (one copy)
	holds   int
	lastUse uint64 // when its last hold was released, for the idle ones
}

// AddFunction registers a function's encoded bytes and returns its id for Submit. The same
// bytes get the same id while the pool keeps them, so that a function used by several calls is
// shipped to each worker once. Each call takes a hold on the function, which NewBatch takes
// over; once no batch or task holds it, the function is idle (see idleFunctions). The pool keeps
// a copy of fn, and drops fn when it keeps the same bytes already.
func (p *Pool) AddFunction(fn []byte) uint64 {
	p.mu.Lock()
	defer p.unlock()
	id, ok := p.funcIDs[string(fn)]
	if !ok {
		p.lastID++
		id = p.lastID
		data := string(fn)
		p.funcs[id] = &poolFunc{data: data}
		p.funcIDs[data] = id
	}
	if ok {
		p.drop(fn) // the pool keeps the first copy
	}
	f := p.funcs[id]
	if f.holds == 0 && ok { // idle until now
		delete(p.idleFuncs, id)
		p.idleBytes -= len(f.data)
	}
	f.holds++
	return id
}

// Function returns the bytes of function id, for a worker that no longer has them, and
// whether the pool still keeps it.
func (p *Pool) Function(id uint64) ([]byte, bool) {
	p.mu.Lock()
	defer p.unlock()
	if f := p.funcs[id]; f != nil {
		return []byte(f.data), true
	}
	return nil, false
}

// idleFunctions and maxIdleBytes bound the functions that no call uses any more that the pool
// keeps, the most recently used, so that calls of the same function one after the other
// (apply in a loop) keep its id, and the workers that have it are not sent it again.
const (
	idleFunctions = 64
	maxIdleBytes  = 16 << 20
)

// release drops a hold on function id. A function without holds becomes idle; the oldest idle
// ones beyond idleFunctions or maxIdleBytes are dropped, and the workers that had them are sent
// them again should they be registered again. The caller holds p.mu.
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
	p.idleBytes += len(f.data)
	for len(p.idleFuncs) > idleFunctions || p.idleBytes > maxIdleBytes {
		p.dropOldestIdle()
	}
}

// dropOldestIdle drops the idle function whose last hold went first. The caller holds p.mu.
func (p *Pool) dropOldestIdle() {
	var oldest uint64
	for id := range p.idleFuncs {
		if oldest == 0 || p.funcs[id].lastUse < p.funcs[oldest].lastUse {
			oldest = id
		}
	}
	f := p.funcs[oldest]
	p.drop([]byte(f.data))
	delete(p.idleFuncs, oldest)
	p.idleBytes -= len(f.data)
	delete(p.funcs, oldest)
	delete(p.funcIDs, f.data)
	for _, wk := range p.workers {
		delete(wk.shipped, oldest)
	}
}
