package objects

import (
	"errors"
	"sync"
	"testing"
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
