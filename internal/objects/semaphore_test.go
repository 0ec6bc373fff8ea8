package objects

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSemaphoreAcquireRelease(t *testing.T) {
	s := NewSemaphore(2, false)
	mustAcquire(t, s, 1)
	mustAcquire(t, s, 2)
	if v := s.Value(); v != 0 {
		t.Fatalf("Value = %d, want 0", v)
	}
	if ok, _, err := s.Acquire(bg, 3, DontWait); ok || err != nil {
		t.Fatalf("Acquire with no permit = %v, %v", ok, err)
	}
	mustRelease(t, s, 1)
	mustRelease(t, s, 2)
	// Unbounded: anyone may release, above the initial value too.
	mustRelease(t, s, 3)
	if v := s.Value(); v != 3 {
		t.Fatalf("Value = %d, want 3", v)
	}
}

func TestSemaphoreBounded(t *testing.T) {
	s := NewSemaphore(1, true)
	if err := s.Release(1); !errors.Is(err, ErrTooManyReleases) {
		t.Fatalf("Release at initial value = %v, want ErrTooManyReleases", err)
	}
	mustAcquire(t, s, 1)
	mustRelease(t, s, 1)
	if err := s.Release(1); !errors.Is(err, ErrTooManyReleases) {
		t.Fatalf("second Release = %v, want ErrTooManyReleases", err)
	}
	if v := s.Value(); v != 1 {
		t.Fatalf("Value = %d, want 1", v)
	}
}

func TestSemaphoreTimeout(t *testing.T) {
	s := NewSemaphore(0, false)
	began := time.Now()
	if ok, _, err := s.Acquire(bg, 1, WaitUpTo(shortWait)); ok || err != nil {
		t.Fatalf("Acquire = %v, %v; want false, nil", ok, err)
	}
	atLeast(t, began, shortWait)
	if s.waiting() != 0 {
		t.Fatal("waiter left after timeout")
	}
}

func TestSemaphoreHandsOverInOrder(t *testing.T) {
	s := NewSemaphore(0, false)
	first := acquire(bg, s, 1, WaitForever)
	eventually(t, "the first acquire waits", func() bool { return s.waiting() == 1 })
	second := acquire(bg, s, 2, WaitForever)
	eventually(t, "the second acquire waits", func() bool { return s.waiting() == 2 })
	mustRelease(t, s, 9)
	if r := await(t, first); !r.ok || r.err != nil {
		t.Fatalf("first waiter: %+v", r)
	}
	pending(t, second)
	mustRelease(t, s, 1)
	if r := await(t, second); !r.ok || r.err != nil {
		t.Fatalf("second waiter: %+v", r)
	}
	if v := s.Value(); v != 0 {
		t.Fatalf("Value = %d, want 0", v)
	}
}

func TestSemaphoreCancel(t *testing.T) {
	s := NewSemaphore(0, false)
	ctx, cancel := cancelled(t)
	got := acquire(ctx, s, 1, WaitForever)
	eventually(t, "the acquire waits", func() bool { return s.waiting() == 1 })
	cancel()
	if r := await(t, got); r.ok || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Acquire = %+v", r)
	}
	if s.waiting() != 0 || s.Value() != 0 {
		t.Fatal("cancelled Acquire disturbed the semaphore")
	}
}
