package objects

import (
	"context"
	"sync"
)

// Queue is a FIFO of encoded items shared by processes (Python's multiprocessing.Queue). One
// FIFO holds every item, so items from one producer come out in the order it put them. A queue
// with a maxsize makes Put wait while it is full. After Close, Put fails and Get drains what is
// left, then reports ErrClosed. The items of a put that fails are dropped (Registry.OnDrop), and
// so are those of a queue the Registry frees. Make one with NewQueue.
//
// A blocked call parks on its own channel; each item put wakes one waiting getter and each item
// taken wakes one waiting putter, and a woken call that leaves without using its turn passes
// the wake on, so that no item or free slot is left with a waiter asleep.
type Queue struct {
	life
	mu         sync.Mutex
	maxsize    int // 0: unbounded
	items      fifo
	closed     bool
	getters    waitList      // Get, GetBatch and poll calls waiting for an item
	putters    waitList      // Put and PutBatch calls waiting for room
	unfinished int           // items put and not yet task_done'd (for JoinableQueue)
	allDone    chan struct{} // closed when unfinished drops to 0; nil while no Join waits
}

// NewQueue returns an empty queue holding at most maxsize items; 0 or less means no limit.
func NewQueue(maxsize int) *Queue { return &Queue{maxsize: max(maxsize, 0)} }

// Put adds item at the back, waiting as w allows while the queue is full. The queue keeps item:
// the caller must not change it afterwards. It returns ErrFull when it could not wait or the
// wait ran out, ErrClosed after Close, ctx.Err() when ctx ended the wait, and ErrOwnerDied when
// owner has died.
func (q *Queue) Put(ctx context.Context, owner Owner, item []byte, w Wait) error {
	return q.put(ctx, owner, [][]byte{item}, w)
}

// PutBatch adds items at the back in order, all at once or none: a producer that batches its
// puts keeps its order and nobody sees half a batch. On a bounded queue it waits until there is
// room for the whole batch, and returns ErrFull at once for a batch larger than maxsize. Errors
// are those of Put.
func (q *Queue) PutBatch(ctx context.Context, owner Owner, items [][]byte) error {
	if len(items) == 0 {
		return nil
	}
	if q.maxsize > 0 && len(items) > q.maxsize {
		q.dropped(items...)
		return ErrFull
	}
	return q.put(ctx, owner, items, WaitForever)
}

// put adds items at once, waiting as w allows for room for all of them; when it fails, it drops
// them.
func (q *Queue) put(ctx context.Context, owner Owner, items [][]byte, w Wait) (err error) {
	defer func() {
		if err != nil {
			q.dropped(items...) // after q.mu's unlock, deferred below
		}
	}()
	var d deadline
	defer func() { d.stop() }()
	q.mu.Lock()
	defer q.mu.Unlock()
	for started := false; ; {
		if q.dead(owner) {
			return ErrOwnerDied
		}
		if q.closed {
			return ErrClosed
		}
		if q.maxsize == 0 || q.items.len()+len(items) <= q.maxsize {
			for _, item := range items {
				q.items.push(item)
			}
			q.unfinished += len(items)
			for range min(len(items), q.getters.len()) {
				q.getters.wakeFirst()
			}
			q.passOnRoom()
			return nil
		}
		if !w.mayBlock() {
			q.passOnRoom()
			return ErrFull
		}
		if !started {
			d, started = w.start(), true
		}
		wt := q.putters.add(owner)
		q.mu.Unlock()
		err := d.await(ctx, wt.wake)
		q.mu.Lock()
		q.putters.remove(wt)
		switch {
		case wt.err != nil:
			return wt.err
		case err == errTimedOut:
			w = DontWait // one last look, then ErrFull
		case err != nil:
			q.passOnRoom()
			return err
		}
	}
}

// Get removes and returns the oldest item, waiting as w allows while the queue is empty. It
// returns ErrEmpty when it could not wait or the wait ran out, ErrClosed when the queue is closed
// and drained, and ctx.Err() when ctx ended the wait.
func (q *Queue) Get(ctx context.Context, w Wait) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.awaitItems(ctx, w); err != nil {
		return nil, err
	}
	item := q.items.pop()
	q.taken(1)
	return item, nil
}

// GetBatch waits as Get does for at least one item, then removes and returns up to limit
// (at least 1) of the oldest items, in order. Errors are those of Get.
func (q *Queue) GetBatch(ctx context.Context, limit int, w Wait) ([][]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.awaitItems(ctx, w); err != nil {
		return nil, err
	}
	n := min(q.items.len(), max(limit, 1))
	items := make([][]byte, n)
	for i := range items {
		items[i] = q.items.pop()
	}
	q.taken(n)
	return items, nil
}

// Qsize is the number of items in the queue.
func (q *Queue) Qsize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.len()
}

// Empty reports whether the queue holds no item.
func (q *Queue) Empty() bool { return q.Qsize() == 0 }

// Maxsize is the most items the queue holds; 0 means no limit.
func (q *Queue) Maxsize() int { return q.maxsize }

// Full reports whether a bounded queue holds maxsize items.
func (q *Queue) Full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.maxsize > 0 && q.items.len() >= q.maxsize
}

// Close stops the queue taking items: waiting and later puts get ErrClosed, and gets drain what
// is left, then get ErrClosed. Closing twice is harmless.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.getters.wakeAll()
	q.putters.wakeAll()
}

// Closed reports whether Close has been called.
func (q *Queue) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// poll waits as Get does for an item without taking it, and reports true when one is waiting
// or when the queue is closed and drained (so that a Get would not block), false when the wait
// ran out.
func (q *Queue) poll(ctx context.Context, w Wait) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch err := q.awaitItems(ctx, w); err {
	case nil:
		q.passOnItems() // this call took a getter's turn and leaves the item
		return true, nil
	case ErrClosed:
		return true, nil
	case ErrEmpty:
		return false, nil
	default:
		return false, err
	}
}

// discard closes the queue and drops what it holds: waiting and later gets get ErrClosed at
// once. The Registry calls it when it frees the queue.
func (q *Queue) discard() {
	q.mu.Lock()
	items := q.items.take()
	q.closed = true
	q.getters.wakeAll()
	q.putters.wakeAll()
	q.mu.Unlock()
	q.dropped(items...)
}

// awaitItems waits, as w allows, until the queue has an item (nil) or is closed and drained
// (ErrClosed); ErrEmpty when the wait ran out. The caller holds q.mu, which is released while
// waiting.
func (q *Queue) awaitItems(ctx context.Context, w Wait) error {
	var d deadline
	defer func() { d.stop() }()
	for started := false; ; {
		if q.items.len() > 0 {
			return nil
		}
		if q.closed {
			return ErrClosed
		}
		if !w.mayBlock() {
			return ErrEmpty
		}
		if !started {
			d, started = w.start(), true
		}
		wt := q.getters.add(MainScript) // a get is not tied to a process: Died leaves it alone
		q.mu.Unlock()
		err := d.await(ctx, wt.wake)
		q.mu.Lock()
		q.getters.remove(wt)
		switch {
		case err == errTimedOut:
			w = DontWait // one last look, then ErrEmpty
		case err != nil:
			q.passOnItems()
			return err
		}
	}
}

// taken wakes the putters waiting for the n slots just freed, and passes on the turn of any
// getter woken for an item still there. The caller holds q.mu.
func (q *Queue) taken(n int) {
	for range min(n, q.putters.len()) {
		q.putters.wakeFirst()
	}
	q.passOnItems()
}

// passOnItems wakes a getter if an item is waiting. The caller holds q.mu.
func (q *Queue) passOnItems() {
	if q.items.len() > 0 {
		q.getters.wakeFirst()
	}
}

// passOnRoom wakes a putter if there is room. The caller holds q.mu.
func (q *Queue) passOnRoom() {
	if q.maxsize == 0 || q.items.len() < q.maxsize {
		q.putters.wakeFirst()
	}
}

// died fails owner's waiting puts.
func (q *Queue) died(owner Owner) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.putters.failOwner(owner, ErrOwnerDied)
}

// JoinableQueue is a Queue that also counts unfinished tasks (Python's
// multiprocessing.JoinableQueue): every item put is a task, TaskDone finishes one, and Join
// waits until all are finished. Make one with NewJoinableQueue.
type JoinableQueue struct {
	Queue
}

// NewJoinableQueue returns an empty JoinableQueue; maxsize is as for NewQueue.
func NewJoinableQueue(maxsize int) *JoinableQueue {
	return &JoinableQueue{Queue{maxsize: max(maxsize, 0)}}
}

// TaskDone finishes one task. It returns ErrTooManyTaskDone when every item put is already
// finished.
func (q *JoinableQueue) TaskDone() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.unfinished == 0 {
		return ErrTooManyTaskDone
	}
	q.unfinished--
	if q.unfinished == 0 && q.allDone != nil {
		close(q.allDone)
		q.allDone = nil
	}
	return nil
}

// Join waits until every item put has been finished by TaskDone, or returns ctx.Err() when ctx
// ends the wait.
func (q *JoinableQueue) Join(ctx context.Context) error {
	q.mu.Lock()
	if q.unfinished == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.allDone == nil {
		q.allDone = make(chan struct{})
	}
	done := q.allDone
	q.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unfinished is the number of items put and not yet finished by TaskDone.
func (q *JoinableQueue) Unfinished() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.unfinished
}
