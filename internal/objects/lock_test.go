package objects

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestLockAcquireRelease(t *testing.T) {
	l := NewLock()
	if l.Locked() {
		t.Fatal("new lock is locked")
	}
	if ab := mustAcquire(t, l, 1); ab {
		t.Fatal("fresh lock reported abandoned")
	}
	if !l.Locked() {
		t.Fatal("held lock is not locked")
	}
	if err := l.Release(2); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release by non-holder = %v, want ErrNotHeld", err)
	}
	mustRelease(t, l, 1)
	if l.Locked() {
		t.Fatal("released lock is locked")
	}
	if err := l.Release(1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("second Release = %v, want ErrNotHeld", err)
	}
}

func TestLockDontWait(t *testing.T) {
	l := NewLock()
	mustAcquire(t, l, 1)
	for _, w := range []Wait{DontWait, WaitUpTo(0), {Block: false, Forever: true}} {
		ok, _, err := l.Acquire(bg, 2, w)
		if ok || err != nil {
			t.Fatalf("Acquire(%+v) on a held lock = %v, %v; want false, nil", w, ok, err)
		}
	}
	// A Lock is not reentrant: its holder does not get it twice.
	if ok, _, _ := l.Acquire(bg, 1, DontWait); ok {
		t.Fatal("Lock acquired twice by its holder")
	}
}

func TestLockTimeout(t *testing.T) {
	l := NewLock()
	mustAcquire(t, l, 1)
	began := time.Now()
	ok, _, err := l.Acquire(bg, 2, WaitUpTo(shortWait))
	if ok || err != nil {
		t.Fatalf("Acquire = %v, %v; want false, nil", ok, err)
	}
	atLeast(t, began, shortWait)
	if n := l.waiting(); n != 0 {
		t.Fatalf("%d waiters left after timeout", n)
	}
	mustRelease(t, l, 1)
	mustAcquire(t, l, 2)
}

func TestLockCancel(t *testing.T) {
	l := NewLock()
	mustAcquire(t, l, 1)
	ctx, cancel := cancelled(t)
	got := acquire(ctx, l, 2, WaitForever)
	eventually(t, "the acquire waits", func() bool { return l.waiting() == 1 })
	cancel()
	if r := await(t, got); r.ok || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %+v, want context.Canceled", r)
	}
	if l.waiting() != 0 || l.depthOf(1) != 1 {
		t.Fatal("cancelled Acquire disturbed the lock")
	}
}

func TestLockHandsOverInOrder(t *testing.T) {
	l := NewLock()
	mustAcquire(t, l, 1)
	var waits []<-chan result
	for owner := Owner(2); owner <= 4; owner++ {
		waits = append(waits, acquire(bg, l, owner, WaitForever))
		eventually(t, "the acquire waits", func() bool { return l.waiting() == int(owner-1) })
	}
	for i, got := range waits {
		holder := Owner(i + 1)
		mustRelease(t, l, holder)
		if r := await(t, got); !r.ok || r.err != nil || r.abandoned {
			t.Fatalf("owner %d: %+v", holder+1, r)
		}
		if l.depthOf(holder+1) != 1 {
			t.Fatalf("lock not handed to owner %d", holder+1)
		}
	}
}

// Many goroutines contend for a Lock around a plain counter; with the lock exclusive, no
// increment is lost (and the race detector sees no race).
func TestLockStress(t *testing.T) {
	const workers, total = 8, 100_000
	l := NewLock()
	counter := 0
	var wg sync.WaitGroup
	for w := range workers {
		owner := Owner(w + 1)
		wg.Go(func() {
			for range total / workers {
				if ok, _, err := l.Acquire(bg, owner, WaitForever); !ok || err != nil {
					t.Errorf("Acquire: %v, %v", ok, err)
					return
				}
				counter++
				if err := l.Release(owner); err != nil {
					t.Errorf("Release: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if counter != total {
		t.Fatalf("counter = %d, want %d", counter, total)
	}
}

func TestRLockReentrant(t *testing.T) {
	r := NewRLock()
	for range 3 {
		mustAcquire(t, r, 1)
	}
	if ok, _, _ := r.Acquire(bg, 2, DontWait); ok {
		t.Fatal("another owner took a held RLock")
	}
	if err := r.Release(2); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release by non-holder = %v, want ErrNotHeld", err)
	}
	got := acquire(bg, r, 2, WaitForever)
	eventually(t, "the acquire waits", func() bool { return r.waiting() == 1 })
	mustRelease(t, r, 1)
	mustRelease(t, r, 1)
	pending(t, got)
	if !r.Locked() {
		t.Fatal("RLock unlocked with a level still held")
	}
	mustRelease(t, r, 1)
	if res := await(t, got); !res.ok || res.err != nil {
		t.Fatalf("waiter: %+v", res)
	}
	if err := r.Release(1); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Release past depth = %v, want ErrNotHeld", err)
	}
	mustRelease(t, r, 2)
	if r.Locked() {
		t.Fatal("RLock still locked")
	}
}

func TestRLockTimeout(t *testing.T) {
	r := NewRLock()
	mustAcquire(t, r, 1)
	if ok, _, err := r.Acquire(bg, 2, DontWait); ok || err != nil {
		t.Fatalf("DontWait Acquire = %v, %v", ok, err)
	}
	began := time.Now()
	if ok, _, err := r.Acquire(bg, 2, WaitUpTo(shortWait)); ok || err != nil {
		t.Fatalf("Acquire = %v, %v; want false, nil", ok, err)
	}
	atLeast(t, began, shortWait)
}

func TestRLockCancel(t *testing.T) {
	r := NewRLock()
	mustAcquire(t, r, 1)
	ctx, cancel := cancelled(t)
	got := acquire(ctx, r, 2, WaitForever)
	eventually(t, "the acquire waits", func() bool { return r.waiting() == 1 })
	cancel()
	if res := await(t, got); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %+v", res)
	}
}
