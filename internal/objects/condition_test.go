package objects

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitCond starts a Condition.Wait in a goroutine.
func waitCond(ctx context.Context, c *Condition, owner Owner, w Wait) <-chan result {
	return startOK(func() (bool, error) { return c.Wait(ctx, owner, w) })
}

// parkWaiter makes owner take the condition's lock and wait on it, and returns when the wait
// has parked and let the lock go.
func parkWaiter(t *testing.T, c *Condition, owner Owner, w Wait) <-chan result {
	t.Helper()
	mustAcquire(t, c.Locker(), owner)
	before := c.waiting()
	got := waitCond(bg, c, owner, w)
	eventually(t, "the condition wait parks", func() bool {
		return c.waiting() == before+1 && c.Locker().state().depthOf(owner) == 0
	})
	return got
}

func TestConditionNotify(t *testing.T) {
	c := NewCondition(NewLock())
	got := parkWaiter(t, c, 2, WaitForever)
	mustAcquire(t, c.Locker(), 1)
	if err := c.Notify(1, 1); err != nil {
		t.Fatal(err)
	}
	pending(t, got) // notified, but the lock is still ours
	mustRelease(t, c.Locker(), 1)
	if r := await(t, got); !r.ok || r.err != nil {
		t.Fatalf("Wait = %+v, want notified", r)
	}
	if c.Locker().state().depthOf(2) != 1 {
		t.Fatal("waiter does not hold the lock after Wait")
	}
}

func TestConditionNotifyN(t *testing.T) {
	c := NewCondition(nil)
	var waits []<-chan result
	for owner := Owner(2); owner <= 4; owner++ {
		waits = append(waits, parkWaiter(t, c, owner, WaitForever))
	}
	mustAcquire(t, c.Locker(), 1)
	if err := c.Notify(1, 2); err != nil {
		t.Fatal(err)
	}
	if n := c.waiting(); n != 1 {
		t.Fatalf("%d waiters after Notify(2) of 3, want 1", n)
	}
	mustRelease(t, c.Locker(), 1)
	expectNotified(t, c, map[Owner]<-chan result{2: waits[0], 3: waits[1]})
	pending(t, waits[2])
	mustAcquire(t, c.Locker(), 1)
	if err := c.NotifyAll(1); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, c.Locker(), 1)
	expectNotified(t, c, map[Owner]<-chan result{4: waits[2]})
}

func TestConditionNotifyAll(t *testing.T) {
	c := NewCondition(NewRLock())
	var waits []<-chan result
	for owner := Owner(2); owner <= 4; owner++ {
		waits = append(waits, parkWaiter(t, c, owner, WaitForever))
	}
	mustAcquire(t, c.Locker(), 1)
	if err := c.NotifyAll(1); err != nil {
		t.Fatal(err)
	}
	mustRelease(t, c.Locker(), 1)
	expectNotified(t, c, map[Owner]<-chan result{2: waits[0], 3: waits[1], 4: waits[2]})
}

// expectNotified checks that each waiter returns notified. The woken waiters re-acquire the lock
// one at a time, in any order: each is let go on as it returns.
func expectNotified(t *testing.T, c *Condition, waits map[Owner]<-chan result) {
	t.Helper()
	type returned struct {
		owner Owner
		r     result
	}
	merged := make(chan returned, len(waits))
	for owner, got := range waits {
		go func() { merged <- returned{owner, <-got} }()
	}
	for range waits {
		select {
		case ret := <-merged:
			if !ret.r.ok || ret.r.err != nil {
				t.Fatalf("owner %d: %+v", ret.owner, ret.r)
			}
			if c.Locker().state().depthOf(ret.owner) == 0 {
				t.Fatalf("owner %d returned without the lock", ret.owner)
			}
			mustRelease(t, c.Locker(), ret.owner)
		case <-time.After(patience):
			t.Fatal("a notified waiter did not return")
		}
	}
}

func TestConditionNotHeld(t *testing.T) {
	c := NewCondition(NewLock())
	if _, err := c.Wait(bg, 1, WaitForever); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Wait without the lock = %v", err)
	}
	if err := c.Notify(1, 1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Notify without the lock = %v", err)
	}
	if err := c.NotifyAll(1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("NotifyAll without the lock = %v", err)
	}
	mustAcquire(t, c.Locker(), 2)
	if err := c.Notify(1, 1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Notify while another holds the lock = %v", err)
	}
}

func TestConditionDontWait(t *testing.T) {
	c := NewCondition(NewRLock())
	mustAcquire(t, c.Locker(), 1)
	if ok, err := c.Wait(bg, 1, DontWait); ok || err != nil {
		t.Fatalf("Wait = %v, %v; want false, nil", ok, err)
	}
	if c.Locker().state().depthOf(1) != 1 {
		t.Fatal("lock not held after Wait")
	}
}

// A wait that times out re-acquires the lock at its old depth, waiting for it if need be.
func TestConditionTimeoutReacquiresLock(t *testing.T) {
	c := NewCondition(NewRLock())
	lock := c.Locker()
	mustAcquire(t, lock, 2)
	mustAcquire(t, lock, 2)
	began := time.Now()
	got := waitCond(bg, c, 2, WaitUpTo(shortWait))
	eventually(t, "the waiter lets the lock go", func() bool { return !lock.Locked() })
	mustAcquire(t, lock, 1)
	eventually(t, "the timed-out waiter waits for the lock", func() bool { return lock.state().waiting() == 1 })
	pending(t, got)
	mustRelease(t, lock, 1)
	if r := await(t, got); r.ok || r.err != nil {
		t.Fatalf("Wait = %+v, want timed out", r)
	}
	atLeast(t, began, shortWait)
	if d := lock.state().depthOf(2); d != 2 {
		t.Fatalf("depth after Wait = %d, want 2", d)
	}
}

func TestConditionCancel(t *testing.T) {
	c := NewCondition(NewLock())
	mustAcquire(t, c.Locker(), 1)
	ctx, cancel := cancelled(t)
	got := waitCond(ctx, c, 1, WaitForever)
	eventually(t, "the wait parks", func() bool { return c.waiting() == 1 && !c.Locker().Locked() })
	cancel()
	if r := await(t, got); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Wait = %+v", r)
	}
	if c.Locker().Locked() || c.waiting() != 0 {
		t.Fatal("cancelled Wait left the lock held or a waiter parked")
	}
}
