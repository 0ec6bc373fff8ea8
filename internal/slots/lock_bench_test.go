package slots

import (
	"context"
	"testing"
	"time"
)

// BenchmarkMutexUncontended is an acquire and a release of a lock no other
// process wants: two atomic operations, no system call.
func BenchmarkMutexUncontended(b *testing.B) {
	s := newSlots(b)
	m := s.Mutex(lockID)
	m.Init()
	seat := seats(b, s, 1)[0]
	ctx := context.Background()
	for b.Loop() {
		m.Acquire(ctx, seat, Forever)
		m.Release(seat)
	}
}

// BenchmarkRMutexUncontended is an acquire and a release of a reentrant
// lock no other process wants.
func BenchmarkRMutexUncontended(b *testing.B) {
	s := newSlots(b)
	r := s.RMutex(lockID)
	r.Init()
	seat := seats(b, s, 1)[0]
	ctx := context.Background()
	for b.Loop() {
		r.Acquire(ctx, seat, Forever)
		r.Release(seat)
	}
}

// BenchmarkSemaphoreUncontended is an acquire and a release of a permit of
// a bounded semaphore no other process wants.
func BenchmarkSemaphoreUncontended(b *testing.B) {
	s := newSlots(b)
	sem := s.Semaphore(semID)
	sem.Init(1, true)
	seat := seats(b, s, 1)[0]
	ctx := context.Background()
	for b.Loop() {
		sem.Acquire(ctx, seat, Forever)
		sem.Release(seat)
	}
}

// BenchmarkMutexContended is two processes adding to a shared counter,
// each increment under the lock (the loop of issue #16's Lock benchmark,
// without Lua): ns/increment is the time per increment of either. The
// processes start outside the timer and are let go together.
func BenchmarkMutexContended(b *testing.B) {
	const procs = 2
	s := newSlots(b)
	s.Mutex(lockID).Init()
	gate := s.Semaphore(gateID)
	gate.Init(0, false)
	st := seats(b, s, procs)
	n := max(b.N/procs, 1)
	b.StopTimer()
	var hs []*helperProc
	for i := range procs {
		hs = append(hs, startHelper(b, s, "count", lockID, counterID, st[i], n, gateID))
	}
	waitFor(b, "both workers at the gate", func() bool { return gate.r.waiters.Load() == procs })
	b.StartTimer()
	start := time.Now()
	for range procs {
		gate.Release(0)
	}
	for _, h := range hs {
		h.wait(b)
	}
	took := time.Since(start)
	b.StopTimer()
	if c, _ := s.Slot(counterID).Load(); c != float64(procs*n) {
		b.Fatalf("counter %v, want %d", c, procs*n)
	}
	b.ReportMetric(float64(took.Nanoseconds())/float64(procs*n), "ns/increment")
}
