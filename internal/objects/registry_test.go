package objects

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRegistryAddGet(t *testing.T) {
	r := NewRegistry()
	lock, queue := NewLock(), NewQueue(0)
	if id := r.Add(lock); id != 1 {
		t.Fatalf("first id = %d, want 1", id)
	}
	if id := r.Add(queue); id != 2 {
		t.Fatalf("second id = %d, want 2", id)
	}
	if obj, err := r.Get(1); err != nil || obj != lock {
		t.Fatalf("Get(1) = %v, %v", obj, err)
	}
	if q, err := Lookup[*Queue](r, 2); err != nil || q != queue {
		t.Fatalf("Lookup[*Queue](2) = %v, %v", q, err)
	}
	if _, err := Lookup[*Lock](r, 2); !errors.Is(err, ErrNoObject) {
		t.Fatalf("Lookup of the wrong type = %v, want ErrNoObject", err)
	}
	for _, id := range []uint64{0, 3} {
		if _, err := r.Get(id); !errors.Is(err, ErrNoObject) {
			t.Fatalf("Get(%d) = %v, want ErrNoObject", id, err)
		}
	}
	if err := r.Remove(1); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(1); !errors.Is(err, ErrNoObject) {
		t.Fatalf("second Remove = %v", err)
	}
	// The index of a removed object comes back with the next generation.
	if id := r.Add("anything"); id != 1+1<<indexBits || r.Len() != 2 {
		t.Fatalf("id %d, Len %d; want index 1 in generation 1, Len 2", id, r.Len())
	}
	if _, err := r.Get(1); !errors.Is(err, ErrNoObject) {
		t.Fatalf("Get of the stale id 1 = %v, want ErrNoObject", err)
	}
}

// An object added with AddHeld is freed once no process holds it and no
// copy of its handle is in transit; its index is reused with the next
// generation, and the stale id finds nothing.
func TestRegistryFreesWhatNothingHolds(t *testing.T) {
	r := NewRegistry()
	var cleared []uint64
	r.OnFree(func(id uint64) { cleared = append(cleared, id) })
	const a, b Owner = 1, 2
	id := r.AddHeld(NewLock(), a)
	r.Adjust(a, []Change{{ID: id, Transit: 1}})           // a sends it
	r.Adjust(b, []Change{{ID: id, Held: 1, Transit: -1}}) // b receives it
	r.Adjust(a, []Change{{ID: id, Held: -1}})             // a drops it
	if _, err := r.Get(id); err != nil {
		t.Fatalf("freed while b holds it: %v", err)
	}
	r.Adjust(b, []Change{{ID: id, Transit: 1}, {ID: id, Held: -1}}) // b sends it on and drops it
	if holders, transit, ok := r.Holds(id); !ok || len(holders) != 0 || transit != 1 {
		t.Fatalf("Holds = %v, %d, %v; want nobody, 1 in transit", holders, transit, ok)
	}
	r.Adjust(a, []Change{{ID: id, Transit: -1}, {ID: id, Held: 1}, {ID: id, Held: -1}})
	if _, err := r.Get(id); !errors.Is(err, ErrNoObject) {
		t.Fatalf("Get after the last hold went = %v, want ErrNoObject", err)
	}
	if len(cleared) != 1 || cleared[0] != id {
		t.Fatalf("OnFree saw %v, want [%d]", cleared, id)
	}
	next := r.AddHeld(NewEvent(), a)
	if next != id+1<<indexBits {
		t.Fatalf("next id %d, want %d (same index, next generation)", next, id+1<<indexBits)
	}
	if _, err := Lookup[*Lock](r, id); !errors.Is(err, ErrNoObject) || !strings.Contains(err.Error(), "freed") {
		t.Fatalf("Lookup of the stale id = %v, want ErrNoObject saying it was freed", err)
	}
	// A process that dies lets go of what it held.
	r.Died(a)
	if r.Len() != 0 {
		t.Fatalf("Len %d after the only holder died, want 0", r.Len())
	}
	// Objects added with Add stay.
	kept := r.Add("kept")
	r.Adjust(a, []Change{{ID: kept, Held: -1}})
	if _, err := r.Get(kept); err != nil {
		t.Fatal(err)
	}
}

// A pipe end that its last holder drops is closed, and its peer reads closed;
// once both ends are dropped, both are freed.
func TestRegistryClosesDroppedPipeEnds(t *testing.T) {
	r := NewRegistry()
	a, b, err := NewPipe(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	const owner Owner = 1
	ida, idb := r.AddHeld(a, owner), r.AddHeld(b, owner)
	r.Adjust(owner, []Change{{ID: ida, Held: -1}})
	if !a.Closed() {
		t.Fatal("the dropped end is not closed")
	}
	if _, err := b.Recv(context.Background(), owner, Wait{Block: true, Forever: true}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv on the peer = %v, want ErrClosed", err)
	}
	r.Adjust(owner, []Change{{ID: idb, Held: -1}})
	if r.Len() != 0 || !b.Closed() {
		t.Fatalf("Len %d, peer closed %v; want 0, true", r.Len(), b.Closed())
	}
}

// Closing a pipe end is per process, as closing a file descriptor is: the end stays open while
// another process holds it or a handle of it is in transit; once every holder has closed it,
// it closes, and its id stays (use after close) until the closers drop their handles. A
// process that receives the end again holds it again.
func TestRegistryCloseIsPerProcess(t *testing.T) {
	r := NewRegistry()
	a, b, err := NewPipe(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Release)
	const parent, child Owner = 1, 2
	ida, idb := r.AddHeld(a, parent), r.AddHeld(b, parent)
	r.Adjust(parent, []Change{{ID: ida, Transit: 1}}) // sent to the child
	r.Close(parent, ida)                              // closed by the parent at once
	if a.Closed() {
		t.Fatal("an end on its way to a process closed")
	}
	if err := a.Send(bg, parent, []byte("x")); !errors.Is(err, ErrUseAfterClose) {
		t.Fatalf("Send by the process that closed it = %v, want ErrUseAfterClose", err)
	}
	r.Adjust(child, []Change{{ID: ida, Held: 1, Transit: -1}}) // the child receives it
	if err := a.Send(bg, child, []byte("from the child")); err != nil {
		t.Fatal(err)
	}
	r.Close(child, ida)
	if !a.Closed() {
		t.Fatal("the end stays open once every holder closed it")
	}
	mustRecv(t, b, "from the child")
	if _, err := b.Recv(bg, reader, DontWait); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the last close = %v, want ErrClosed", err)
	}
	if _, err := r.Get(ida); err != nil {
		t.Fatalf("the id went while processes still have the end: %v", err)
	}
	r.Adjust(parent, []Change{{ID: ida, Held: -1}})
	r.Died(child)
	if _, err := r.Get(ida); !errors.Is(err, ErrNoObject) {
		t.Fatalf("Get once nobody has the end = %v, want ErrNoObject", err)
	}
	// Received again after a close: held again, no longer closed for it.
	r.Close(parent, idb)
	r.Adjust(parent, []Change{{ID: idb, Transit: 1}, {ID: idb, Held: 1, Transit: -1}})
	if b.closedByOwner(parent) {
		t.Fatal("the end received again is still closed for its receiver")
	}
	r.Adjust(parent, []Change{{ID: idb, Held: -1}})
	if r.Len() != 0 || !b.Closed() {
		t.Fatalf("Len %d, closed %v; want 0, true", r.Len(), b.Closed())
	}
}

// newRegistryWith returns a registry holding objs.
func newRegistryWith(objs ...any) *Registry {
	r := NewRegistry()
	for _, obj := range objs {
		r.Add(obj)
	}
	return r
}

func TestDiedReleasesLock(t *testing.T) {
	l := NewLock()
	r := newRegistryWith(l)
	mustAcquire(t, l, 5)
	waiting := acquire(bg, l, 6, WaitForever)
	eventually(t, "the acquire waits", func() bool { return l.waiting() == 1 })
	r.Died(5)
	if res := await(t, waiting); !res.ok || !res.abandoned || res.err != nil {
		t.Fatalf("Acquire after the holder died = %+v, want ok and abandoned", res)
	}
	mustRelease(t, l, 6)
	if mustAcquire(t, l, 7) {
		t.Fatal("abandoned reported twice")
	}
	mustRelease(t, l, 7)

	// With nobody waiting, the next acquirer is told.
	mustAcquire(t, l, 8)
	r.Died(8)
	if l.Locked() {
		t.Fatal("lock still held by a dead owner")
	}
	if !mustAcquire(t, l, 9) {
		t.Fatal("next Acquire not told the lock was abandoned")
	}
	mustRelease(t, l, 9)
	if mustAcquire(t, l, 9) {
		t.Fatal("abandoned reported twice")
	}
}

func TestDiedReleasesRLock(t *testing.T) {
	rl := NewRLock()
	r := newRegistryWith(rl)
	for range 3 {
		mustAcquire(t, rl, 5)
	}
	waiting := acquire(bg, rl, 6, WaitForever)
	eventually(t, "the acquire waits", func() bool { return rl.waiting() == 1 })
	r.Died(5)
	if res := await(t, waiting); !res.ok || !res.abandoned || res.err != nil {
		t.Fatalf("Acquire after the holder died = %+v, want ok and abandoned", res)
	}
	mustRelease(t, rl, 6)
	if rl.Locked() {
		t.Fatal("the dead owner's levels were handed on")
	}
	if err := rl.Release(5); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release by the dead owner = %v", err)
	}
}

func TestDiedReturnsSemaphorePermits(t *testing.T) {
	s := NewSemaphore(2, true)
	r := newRegistryWith(s)
	mustAcquire(t, s, 5)
	mustAcquire(t, s, 5)
	waiting := acquire(bg, s, 6, WaitForever)
	eventually(t, "the acquire waits", func() bool { return s.waiting() == 1 })
	r.Died(5)
	if res := await(t, waiting); !res.ok || !res.abandoned || res.err != nil {
		t.Fatalf("Acquire after the holder died = %+v, want ok and abandoned", res)
	}
	if v := s.Value(); v != 1 {
		t.Fatalf("Value = %d, want 1", v)
	}
	if !mustAcquire(t, s, 7) {
		t.Fatal("second returned permit not flagged abandoned")
	}
	mustRelease(t, s, 7)
	if mustAcquire(t, s, 7) {
		t.Fatal("a permit flagged abandoned twice")
	}
	mustRelease(t, s, 7)
	mustRelease(t, s, 6)
	if err := s.Release(6); !errors.Is(err, ErrTooManyReleases) {
		t.Fatalf("bounded semaphore over its value after a death: %v", err)
	}
}

// A permit taken as a signal (released by another process) is not handed out again when its
// taker dies.
func TestDiedKeepsSignalledPermits(t *testing.T) {
	s := NewSemaphore(0, false)
	r := newRegistryWith(s)
	mustRelease(t, s, MainScript)
	mustAcquire(t, s, 5)
	r.Died(5)
	if v := s.Value(); v != 0 {
		t.Fatalf("Value = %d after the signal's taker died, want 0", v)
	}
}

func TestDiedBreaksBarrier(t *testing.T) {
	b := NewBarrier(3, WaitForever)
	r := newRegistryWith(b)
	dying := arrive(t, b, 5, WaitForever)
	other := arrive(t, b, 6, WaitForever)
	r.Died(7) // not waiting here: nothing happens
	if b.Broken() {
		t.Fatal("a death elsewhere broke the barrier")
	}
	r.Died(5)
	expectBroken(t, other, dying)
	if !b.Broken() {
		t.Fatal("barrier not broken")
	}
}

func TestDiedClosesOrphanedPipeEnd(t *testing.T) {
	a, b := newPipe(t, false)
	r := NewRegistry()
	ida, idb := r.AddHeld(a, MainScript), r.AddHeld(b, 5)
	r.Adjust(5, []Change{{ID: ida, Held: 1}})
	r.Adjust(6, []Change{{ID: idb, Held: 1}})
	mustSend(t, b, "x", "y")
	r.Died(5)
	if a.Closed() || b.Closed() {
		t.Fatal("an end closed while a holder lives")
	}
	mustRecv(t, a, "x")
	r.Died(6)
	if !b.Closed() || a.Closed() {
		t.Fatal("only the end whose holders all died should close")
	}
	mustRecv(t, a, "y")
	if _, err := a.Recv(bg, reader, WaitForever); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the sender's holders died = %v, want ErrClosed", err)
	}
}

func TestDiedWakesBlockedRecv(t *testing.T) {
	a, b := newPipe(t, true)
	r := NewRegistry()
	r.AddHeld(a, MainScript)
	r.AddHeld(b, 5)
	got := recv(bg, a, WaitForever)
	eventually(t, "the recv waits", func() bool { return recvWaiting(a) })
	r.Died(5)
	if res := await(t, got); !errors.Is(res.err, ErrClosed) {
		t.Fatalf("Recv = %+v, want ErrClosed", res)
	}
}

// A dead owner's blocked calls end with ErrOwnerDied, and its later calls fail the same way.
func TestDiedFailsOwnersCalls(t *testing.T) {
	lock, sem, queue := NewLock(), NewSemaphore(0, false), NewQueue(1)
	cond, barrier, value := NewCondition(NewLock()), NewBarrier(2, WaitForever), NewValue(NumberContent(0))
	a, _ := newPipe(t, true)
	r := newRegistryWith(lock, sem, queue, cond, barrier, value, a)
	mustAcquire(t, lock, 1)
	mustPut(t, queue, "full")
	calls := []<-chan result{
		acquire(bg, lock, 5, WaitForever),
		acquire(bg, sem, 5, WaitForever),
		put(bg, queue, 5, "x", WaitForever),
		parkWaiter(t, cond, 5, WaitForever),
	}
	eventually(t, "every call waits", func() bool {
		_, p := queue.parked()
		return lock.waiting() == 1 && sem.waiting() == 1 && p == 1
	})
	r.Died(5)
	for i, got := range calls {
		if res := await(t, got); !errors.Is(res.err, ErrOwnerDied) {
			t.Fatalf("call %d: %+v, want ErrOwnerDied", i, res)
		}
	}
	if cond.Locker().Locked() || !lock.Locked() || queue.Qsize() != 1 {
		t.Fatal("a dead owner's failed calls changed the objects")
	}
	late := map[string]error{}
	_, _, late["Lock.Acquire"] = lock.Acquire(bg, 5, DontWait)
	_, _, late["Semaphore.Acquire"] = sem.Acquire(bg, 5, DontWait)
	late["Semaphore.Release"] = sem.Release(5)
	late["Queue.Put"] = queue.Put(bg, 5, nil, DontWait)
	_, late["Barrier.Wait"] = barrier.Wait(bg, 5, WaitForever)
	_, late["Value.Add"] = value.Add(5, 1)
	_, late["PipeEnd.Socket"] = a.Socket(5, newTally(new(atomic.Uint64)), func(int) error { return nil })
	late["PipeEnd.Send"] = a.Send(bg, 5, nil)
	_, _, late["Condition lock"] = cond.Locker().Acquire(bg, 5, DontWait)
	for call, err := range late {
		if !errors.Is(err, ErrOwnerDied) {
			t.Errorf("%s by a dead owner = %v, want ErrOwnerDied", call, err)
		}
	}
	r.Died(5) // idempotent
}

func TestDiedReleasesConditionAndValueLocks(t *testing.T) {
	cond, value := NewCondition(nil), NewValue(NumberContent(0))
	r := newRegistryWith(cond, value)
	mustAcquire(t, cond.Locker(), 5)
	mustAcquire(t, value.Lock(), 5)
	r.Died(5)
	if !mustAcquire(t, cond.Locker(), 1) || !mustAcquire(t, value.Lock(), 1) {
		t.Fatal("locks of a dead owner not flagged abandoned")
	}
}

// Calls racing with a death never leave anything held by the dead owner.
func TestDiedRacingCalls(t *testing.T) {
	for round := range 200 {
		l, s := NewLock(), NewSemaphore(1, true)
		r := newRegistryWith(l, s)
		owner := Owner(round + 10)
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				ok, _, err := l.Acquire(bg, owner, WaitForever)
				if err != nil {
					return
				}
				if ok {
					_ = l.Release(owner)
				}
				if ok, _, err := s.Acquire(bg, owner, WaitForever); err != nil {
					return
				} else if ok {
					_ = s.Release(owner)
				}
			}
		})
		r.Died(owner)
		wg.Wait()
		if l.Locked() || s.Value() != 1 {
			t.Fatalf("round %d: the dead owner still holds something", round)
		}
	}
}

// When a process dies holding a lock, the host releases it and the next acquirer is told.
func ExampleRegistry() {
	ctx := context.Background()
	reg := NewRegistry()
	lock := NewLock()
	id := reg.Add(lock)

	const child Owner = 7
	ok, _, _ := lock.Acquire(ctx, child, WaitForever)
	fmt.Println("child holds lock", id, ok)

	reg.Died(child)
	ok, abandoned, _ := lock.Acquire(ctx, MainScript, WaitUpTo(time.Second))
	fmt.Println("main acquired:", ok, "abandoned:", abandoned)
	// Output:
	// child holds lock 1 true
	// main acquired: true abandoned: true
}

func TestRegistryQueue(t *testing.T) {
	q, jq := NewQueue(0), NewJoinableQueue(0)
	r := newRegistryWith(q, jq, NewLock())
	if got, err := r.Queue(1); err != nil || got != q {
		t.Fatalf("Queue(1) = %v, %v", got, err)
	}
	if got, err := r.Queue(2); err != nil || got != &jq.Queue {
		t.Fatalf("Queue(2) = %v, %v", got, err)
	}
	for _, id := range []uint64{3, 4} {
		if _, err := r.Queue(id); !errors.Is(err, ErrNoObject) {
			t.Fatalf("Queue(%d) = %v, want ErrNoObject", id, err)
		}
	}
	if l, err := Lookup[Locker](r, 3); err != nil || l == nil {
		t.Fatalf("Lookup[Locker] = %v, %v", l, err)
	}
}

// A lock or permit handed to a call that is then cancelled, while its owner dies, goes back
// exactly once, whichever of the cancellation and the death is seen first.
func TestDiedAndCancelledGrant(t *testing.T) {
	for round := range 200 {
		l, s := NewLock(), NewSemaphore(1, true)
		r := newRegistryWith(l, s)
		owner := Owner(round + 10)
		mustAcquire(t, l, 1)
		mustAcquire(t, s, 1)
		ctx, cancel := cancelled(t)
		lockWait, semWait := acquire(ctx, l, owner, WaitForever), acquire(ctx, s, owner, WaitForever)
		eventually(t, "both acquires wait", func() bool { return l.waiting() == 1 && s.waiting() == 1 })
		// Hand both over and cancel before the waiters can look.
		l.mu.Lock()
		s.mu.Lock()
		l.handOff(false)
		s.drop(1)
		s.give(false)
		cancel()
		s.mu.Unlock()
		l.mu.Unlock()
		r.Died(owner)
		await(t, lockWait)
		await(t, semWait)
		if l.Locked() || s.Value() != 1 {
			t.Fatalf("round %d: Locked %v, Value %d; want free and 1", round, l.Locked(), s.Value())
		}
	}
}
