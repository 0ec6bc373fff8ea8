package objects

import (
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/mphost/mphost/internal/slots"
)

func TestValueGetSetAdd(t *testing.T) {
	v := NewValue(NumberContent(1.5))
	if c := v.Get(); !c.IsNumber || c.Number != 1.5 {
		t.Fatalf("Get = %+v", c)
	}
	if n, err := v.Add(1, 2); err != nil || n != 3.5 {
		t.Fatalf("Add = %v, %v; want 3.5", n, err)
	}
	v.Set(EncodedContent([]byte("table")))
	if c := v.Get(); c.IsNumber || string(c.Encoded) != "table" {
		t.Fatalf("Get = %+v", c)
	}
	if _, err := v.Add(1, 1); !errors.Is(err, ErrNotNumber) {
		t.Fatalf("Add to a non-number = %v, want ErrNotNumber", err)
	}
	v.Set(NumberContent(0))
	if n, _ := v.Add(1, -1); n != -1 {
		t.Fatalf("Add = %v, want -1", n)
	}
}

func TestValueAddIsAtomic(t *testing.T) {
	const workers, each = 8, 1_000
	v := NewValue(NumberContent(0))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				if _, err := v.Add(Owner(w), 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if c := v.Get(); c.Number != workers*each {
		t.Fatalf("sum = %v, want %d", c.Number, workers*each)
	}
}

// The value's lock is reentrant, so with(f) may nest, and Get, Set and Add work inside it.
func TestValueLock(t *testing.T) {
	v := NewValue(NumberContent(0))
	mustAcquire(t, v.Lock(), 1)
	mustAcquire(t, v.Lock(), 1)
	if _, err := v.Add(1, 1); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := v.Lock().Acquire(bg, 2, DontWait); ok {
		t.Fatal("another owner took the value's held lock")
	}
	mustRelease(t, v.Lock(), 1)
	mustRelease(t, v.Lock(), 1)
	mustAcquire(t, v.Lock(), 2)
}

// TestSharedValue proves that a Value given a slot keeps its number there,
// where another process changes it without the Value's knowing (here, the
// slot itself), and its other contents in the host: Get, Set and Add see
// whichever the slot says it holds.
func TestSharedValue(t *testing.T) {
	mem, err := slots.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	slot := mem.Slot(5)
	v := NewValue(EncodedContent([]byte("text")))
	v.Share(slot)
	if _, ok := slot.Load(); ok {
		t.Fatal("the slot of a Value holding text holds a number")
	}
	if _, err := v.Add(1, 1); !errors.Is(err, ErrNotNumber) {
		t.Errorf("Add to text: %v, want ErrNotNumber", err)
	}
	slot.Store(10) // a child sets a number
	if c := v.Get(); !c.IsNumber || c.Number != 10 {
		t.Errorf("Get after a child's set = %+v, want 10", c)
	}
	if n, err := v.Add(1, 5); err != nil || n != 15 {
		t.Errorf("Add = %v, %v; want 15", n, err)
	}
	if n, _ := slot.Load(); n != 15 {
		t.Errorf("the slot holds %v after Add, want 15", n)
	}
	v.Set(EncodedContent([]byte("again")))
	if c := v.Get(); c.IsNumber || string(c.Encoded) != "again" {
		t.Errorf("Get = %+v, want the text", c)
	}
	odd := math.Float64frombits(slots.Other) // the one number a slot cannot hold
	v.Set(NumberContent(odd))
	if c := v.Get(); !c.IsNumber || math.Float64bits(c.Number) != slots.Other {
		t.Errorf("Get of the number with Other's bits = %+v", c)
	}
	v.Set(NumberContent(2))
	if _, ok := slot.Load(); !ok {
		t.Error("a number set in the host is not in the slot")
	}
}
