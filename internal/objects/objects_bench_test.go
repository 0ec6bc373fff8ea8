package objects

import (
	"context"
	"testing"
)

// BenchmarkLockUncontended measures an Acquire and Release with nobody else around.
func BenchmarkLockUncontended(b *testing.B) {
	l := NewLock()
	newRegistryWith(l) // count the dead-owner check as the host would
	ctx := context.Background()
	for b.Loop() {
		if ok, _, err := l.Acquire(ctx, 1, WaitForever); !ok || err != nil {
			b.Fatal(ok, err)
		}
		if err := l.Release(1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLockContended measures Acquire and Release with GOMAXPROCS goroutines at once.
func BenchmarkLockContended(b *testing.B) {
	l := NewLock()
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := l.Acquire(ctx, 1, WaitForever); !ok || err != nil {
				b.Error(ok, err)
				return
			}
			_ = l.Release(1)
		}
	})
}

// BenchmarkQueuePutGet measures a Put then a Get of a small item on an empty queue.
func BenchmarkQueuePutGet(b *testing.B) {
	q := NewQueue(0)
	newRegistryWith(q)
	ctx := context.Background()
	item := []byte("a small encoded item")
	for b.Loop() {
		if err := q.Put(ctx, 1, item, WaitForever); err != nil {
			b.Fatal(err)
		}
		if _, err := q.Get(ctx, WaitForever); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueProducerConsumer measures items passed from one goroutine to another through a
// bounded queue, so that both sides park and wake.
func BenchmarkQueueProducerConsumer(b *testing.B) {
	q := NewQueue(64)
	ctx := context.Background()
	item := []byte("a small encoded item")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := q.Get(ctx, WaitForever); err != nil {
				return
			}
		}
	}()
	for b.Loop() {
		if err := q.Put(ctx, 1, item, WaitForever); err != nil {
			b.Fatal(err)
		}
	}
	q.Close()
	<-done
}
