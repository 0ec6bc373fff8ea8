package objects

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitEvent starts an Event.Wait in a goroutine.
func waitEvent(ctx context.Context, e *Event, w Wait) <-chan result {
	return startOK(func() (bool, error) { return e.Wait(ctx, w) })
}

func TestEventSetClear(t *testing.T) {
	e := NewEvent()
	if e.IsSet() {
		t.Fatal("new event is set")
	}
	if ok, err := e.Wait(bg, DontWait); ok || err != nil {
		t.Fatalf("Wait on clear event = %v, %v", ok, err)
	}
	e.Set()
	e.Set()
	if ok, err := e.Wait(bg, WaitForever); !ok || err != nil || !e.IsSet() {
		t.Fatalf("Wait on set event = %v, %v", ok, err)
	}
	e.Clear()
	e.Clear()
	if ok, _ := e.Wait(bg, DontWait); ok || e.IsSet() {
		t.Fatal("cleared event still set")
	}
}

func TestEventSetWakesAllWaiters(t *testing.T) {
	e := NewEvent()
	var waits []<-chan result
	for range 3 {
		waits = append(waits, waitEvent(bg, e, WaitForever))
	}
	for _, w := range waits {
		pending(t, w)
	}
	e.Set()
	for _, w := range waits {
		if r := await(t, w); !r.ok || r.err != nil {
			t.Fatalf("waiter: %+v", r)
		}
	}
}

func TestEventWaitTimeout(t *testing.T) {
	e := NewEvent()
	began := time.Now()
	if ok, err := e.Wait(bg, WaitUpTo(shortWait)); ok || err != nil {
		t.Fatalf("Wait = %v, %v; want false, nil", ok, err)
	}
	atLeast(t, began, shortWait)
}

func TestEventCancel(t *testing.T) {
	e := NewEvent()
	ctx, cancel := cancelled(t)
	got := waitEvent(ctx, e, WaitForever)
	cancel()
	if r := await(t, got); r.ok || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Wait = %+v", r)
	}
}
