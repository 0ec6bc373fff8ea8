package objects

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitBarrier starts a Barrier.Wait in a goroutine.
func waitBarrier(ctx context.Context, b *Barrier, owner Owner, w Wait) <-chan result {
	return start(func() result {
		i, err := b.Wait(ctx, owner, w)
		return result{n: i, err: err}
	})
}

// arrive starts owner's wait and returns once it is counted as waiting.
func arrive(t *testing.T, b *Barrier, owner Owner, w Wait) <-chan result {
	t.Helper()
	before := b.NWaiting()
	got := waitBarrier(bg, b, owner, w)
	eventually(t, "the party waits", func() bool { return b.NWaiting() == before+1 })
	return got
}

// expectBroken checks that each wait returns ErrBroken.
func expectBroken(t *testing.T, waits ...<-chan result) {
	t.Helper()
	for _, got := range waits {
		if r := await(t, got); !errors.Is(r.err, ErrBroken) {
			t.Fatalf("Wait = %+v, want ErrBroken", r)
		}
	}
}

// Indexes follow arrival, as in Python: 0 for the first, parties-1 for the last, which releases
// the others. The barrier can then be used again.
func TestBarrierIndexes(t *testing.T) {
	b := NewBarrier(3, WaitForever)
	if b.Parties() != 3 {
		t.Fatalf("Parties = %d", b.Parties())
	}
	for round := range 2 {
		first := arrive(t, b, 1, WaitForever)
		second := arrive(t, b, 2, WaitForever)
		pending(t, first)
		last, err := b.Wait(bg, 3, WaitForever)
		if err != nil || last != 2 {
			t.Fatalf("round %d: last Wait = %d, %v; want 2", round, last, err)
		}
		for want, got := range []<-chan result{first, second} {
			if r := await(t, got); r.err != nil || r.n != want {
				t.Fatalf("round %d: Wait = %+v, want index %d", round, r, want)
			}
		}
		if b.NWaiting() != 0 || b.Broken() {
			t.Fatal("barrier not ready for the next round")
		}
	}
}

func TestBarrierOneParty(t *testing.T) {
	b := NewBarrier(1, DontWait)
	if i, err := b.Wait(bg, 1, DontWait); i != 0 || err != nil {
		t.Fatalf("Wait = %d, %v", i, err)
	}
}

// A timeout breaks the barrier for everyone, until Reset.
func TestBarrierTimeoutBreaks(t *testing.T) {
	b := NewBarrier(3, WaitForever)
	other := arrive(t, b, 1, WaitForever)
	began := time.Now()
	if _, err := b.Wait(bg, 2, WaitUpTo(shortWait)); !errors.Is(err, ErrBroken) {
		t.Fatalf("timed-out Wait = %v, want ErrBroken", err)
	}
	atLeast(t, began, shortWait)
	expectBroken(t, other)
	if !b.Broken() || b.NWaiting() != 0 {
		t.Fatal("barrier not broken")
	}
	if _, err := b.Wait(bg, 3, WaitForever); !errors.Is(err, ErrBroken) {
		t.Fatalf("Wait on broken barrier = %v", err)
	}
	b.Reset()
	if b.Broken() {
		t.Fatal("still broken after Reset")
	}
	got := arrive(t, b, 1, WaitForever)
	arrive(t, b, 2, WaitForever)
	if i, err := b.Wait(bg, 3, WaitForever); i != 2 || err != nil {
		t.Fatalf("Wait after Reset = %d, %v", i, err)
	}
	if r := await(t, got); r.err != nil || r.n != 0 {
		t.Fatalf("first party after Reset: %+v", r)
	}
}

// WaitForever stands for the barrier's own timeout, like timeout=None in Python.
func TestBarrierDefaultTimeout(t *testing.T) {
	b := NewBarrier(2, WaitUpTo(shortWait))
	began := time.Now()
	if _, err := b.Wait(bg, 1, WaitForever); !errors.Is(err, ErrBroken) {
		t.Fatalf("Wait = %v, want ErrBroken", err)
	}
	atLeast(t, began, shortWait)
}

// The zero Wait as the default means none; a zero timeout means do not wait.
func TestBarrierDefaultTimeoutZero(t *testing.T) {
	b := NewBarrier(2, Wait{})
	got := arrive(t, b, 1, WaitForever)
	if i, err := b.Wait(bg, 2, WaitForever); i != 1 || err != nil {
		t.Fatalf("Wait = %d, %v", i, err)
	}
	if r := await(t, got); r.err != nil || r.n != 0 {
		t.Fatalf("first party: %+v", r)
	}
	b = NewBarrier(2, WaitUpTo(0))
	if _, err := b.Wait(bg, 1, WaitForever); !errors.Is(err, ErrBroken) {
		t.Fatalf("Wait with a zero default timeout = %v, want ErrBroken", err)
	}
}

func TestBarrierDontWait(t *testing.T) {
	b := NewBarrier(2, WaitForever)
	if _, err := b.Wait(bg, 1, DontWait); !errors.Is(err, ErrBroken) {
		t.Fatalf("Wait = %v, want ErrBroken", err)
	}
	if !b.Broken() {
		t.Fatal("not broken")
	}
}

func TestBarrierAbort(t *testing.T) {
	b := NewBarrier(3, WaitForever)
	first, second := arrive(t, b, 1, WaitForever), arrive(t, b, 2, WaitForever)
	b.Abort()
	expectBroken(t, first, second)
	if !b.Broken() {
		t.Fatal("not broken after Abort")
	}
}

func TestBarrierReset(t *testing.T) {
	b := NewBarrier(2, WaitForever)
	got := arrive(t, b, 1, WaitForever)
	b.Reset()
	expectBroken(t, got)
	if b.Broken() || b.NWaiting() != 0 {
		t.Fatal("barrier not fresh after Reset")
	}
}

func TestBarrierCancel(t *testing.T) {
	b := NewBarrier(3, WaitForever)
	other := arrive(t, b, 1, WaitForever)
	ctx, cancel := cancelled(t)
	got := waitBarrier(ctx, b, 2, WaitForever)
	eventually(t, "the party waits", func() bool { return b.NWaiting() == 2 })
	cancel()
	if r := await(t, got); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Wait = %+v", r)
	}
	expectBroken(t, other)
}
