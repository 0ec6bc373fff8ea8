package slots

import (
	"context"
	"testing"
	"time"
)

// takeGive is a record a seat takes and gives: a Mutex, an RMutex or a
// Semaphore.
type takeGive interface {
	Acquire(ctx context.Context, seat Seat, wait time.Duration) (ok, abandoned bool, err error)
	Release(seat Seat) error
}

// benchUncontended times an acquire and a release, in one seat, of the
// record that made returns and no other process wants.
func benchUncontended(b *testing.B, made func(*Slots) takeGive) {
	s := newSlots(b)
	x := made(s)
	seat := seats(b, s, 1)[0]
	ctx := context.Background()
	for b.Loop() {
		x.Acquire(ctx, seat, Forever)
		x.Release(seat)
	}
}

// BenchmarkMutexUncontended is an acquire and a release of a lock no other
// process wants: two atomic operations, no system call.
func BenchmarkMutexUncontended(b *testing.B) {
	benchUncontended(b, func(s *Slots) takeGive {
		m := s.Mutex(lockID)
		m.Init()
		return m
	})
}

// BenchmarkRMutexUncontended is an acquire and a release of a reentrant
// lock no other process wants.
func BenchmarkRMutexUncontended(b *testing.B) {
	benchUncontended(b, func(s *Slots) takeGive {
		r := s.RMutex(lockID)
		r.Init()
		return r
	})
}

// BenchmarkSemaphoreUncontended is an acquire and a release of a permit of
// a bounded semaphore no other process wants.
func BenchmarkSemaphoreUncontended(b *testing.B) {
	benchUncontended(b, func(s *Slots) takeGive {
		sem := s.Semaphore(semID)
		sem.Init(1, true)
		return sem
	})
}

// BenchmarkMutexContended is two processes adding to a shared counter,
// each increment under the lock (the loop of issue #16's Lock benchmark,
// without Lua): ns/increment is the time per increment of either. The
// processes start outside the timer and are let go together.
func BenchmarkMutexContended(b *testing.B) {
	const procs = 2
	s := newSlots(b)
	s.Mutex(lockID).Init()
	n := max(b.N/procs, 1)
	b.StopTimer()
	c := gather(b, s, "count", lockID, procs, 0, n, nil)
	b.StartTimer()
	start := time.Now()
	c.run(b)
	took := time.Since(start)
	b.StopTimer()
	if got, _ := s.Slot(counterID).Load(); got != float64(procs*n) {
		b.Fatalf("counter %v, want %d", got, procs*n)
	}
	b.ReportMetric(float64(took.Nanoseconds())/float64(procs*n), "ns/increment")
}
