package slots

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// Ids of the objects the tests use: an index with a generation above it.
const (
	lockID    = 3<<32 | 11
	semID     = 2<<32 | 12
	counterID = 13
	gateID    = 14
)

func seats(t testing.TB, s *Slots, n int) []Seat {
	t.Helper()
	out := make([]Seat, n)
	for i := range out {
		seat, err := s.TakeSeat()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = seat
	}
	return out
}

// TestMutex proves what a Mutex promises within one process: one holder,
// no reentry, a release only by the holder, and a Died that frees only
// the dead holder's lock and tells the next acquirer once.
func TestMutex(t *testing.T) {
	s := newSlots(t)
	if s.Mutex(0) != nil || s.Mutex(Count) != nil {
		t.Error("a lock for index 0 or Count; want none")
	}
	m := s.Mutex(lockID)
	m.Init()
	ctx := context.Background()
	st := seats(t, s, 2)
	a, b := st[0], st[1]
	if ok, abandoned, err := m.Acquire(ctx, a, 0); !ok || abandoned || err != nil {
		t.Fatalf("Acquire of a free lock: %v, %v, %v", ok, abandoned, err)
	}
	if !m.Locked() || m.Holder() != a {
		t.Errorf("held by %d: Locked %v, Holder %d", a, m.Locked(), m.Holder())
	}
	if ok, _, _ := m.Acquire(ctx, a, 0); ok {
		t.Error("the holder took the lock again: want it not reentrant")
	}
	if err := m.Release(b); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release by a seat that does not hold it: %v, want ErrNotHeld", err)
	}
	if m.Died(b) {
		t.Error("Died of a seat that does not hold it freed the lock")
	}
	if !m.Died(a) || m.Locked() {
		t.Error("Died of the holder left the lock held")
	}
	if ok, abandoned, _ := m.Acquire(ctx, b, 0); !ok || !abandoned {
		t.Errorf("Acquire after the holder died: %v, %v; want true, abandoned", ok, abandoned)
	}
	if err := m.Release(b); err != nil {
		t.Fatal(err)
	}
	if ok, abandoned, _ := m.Acquire(ctx, a, 0); !ok || abandoned {
		t.Errorf("the next Acquire: %v, abandoned %v; want it told once only", ok, abandoned)
	}
}

// TestRMutex proves the levels of a reentrant lock: the holder goes deeper
// and back, others wait, and ReleaseAll and AcquireLevels give up and take
// back every level, as a Condition's wait does.
func TestRMutex(t *testing.T) {
	s := newSlots(t)
	r := s.RMutex(lockID)
	r.Init()
	ctx := context.Background()
	st := seats(t, s, 2)
	a, b := st[0], st[1]
	for range 3 {
		if ok, _, _ := r.Acquire(ctx, a, 0); !ok {
			t.Fatal("the holder could not go a level deeper")
		}
	}
	if ok, _, _ := r.Acquire(ctx, b, 0); ok || r.Depth(a) != 3 || r.Depth(b) != 0 {
		t.Fatalf("another seat took it (%v), or depths %d, %d; want 3, 0", ok, r.Depth(a), r.Depth(b))
	}
	if err := r.Release(b); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Release by another seat: %v", err)
	}
	r.Release(a)
	if levels, err := r.ReleaseAll(a); levels != 2 || err != nil || r.Locked() {
		t.Fatalf("ReleaseAll: %d, %v, locked %v; want 2, nil, free", levels, err, r.Locked())
	}
	if ok, _, _ := r.AcquireLevels(ctx, b, 0, 2); !ok || r.Depth(b) != 2 {
		t.Fatalf("AcquireLevels(2): %v, depth %d", ok, r.Depth(b))
	}
	r.Release(b)
	if err := r.Release(b); err != nil || r.Locked() {
		t.Errorf("the last level: %v, locked %v; want it free", err, r.Locked())
	}
}

// TestWaitEnds proves that a sleeper leaves when its context ends, in
// bounded time, and that a wake it takes on its way out is passed on: the
// other sleeper still gets the lock when it is released.
func TestWaitEnds(t *testing.T) {
	s := newSlots(t)
	m := s.Mutex(lockID)
	m.Init()
	st := seats(t, s, 3)
	if ok, _, _ := m.Acquire(context.Background(), st[0], 0); !ok {
		t.Fatal("Acquire of a free lock failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	interrupted, other := make(chan error, 1), make(chan bool, 1)
	go func() {
		_, _, err := m.Acquire(ctx, st[1], Forever)
		interrupted <- err
	}()
	go func() {
		ok, _, _ := m.Acquire(context.Background(), st[2], Forever)
		other <- ok
	}()
	waitFor(t, "two sleepers", func() bool { return m.r.waiters.Load() == 2 })
	cancel()
	select {
	case err := <-interrupted:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the interrupted Acquire returned %v, want context.Canceled", err)
		}
	case <-time.After(bound):
		t.Fatal("the sleeper did not leave when its context ended")
	}
	m.Release(st[0])
	select {
	case ok := <-other:
		if !ok || m.Holder() != st[2] {
			t.Errorf("the other sleeper: %v, holder %d", ok, m.Holder())
		}
	case <-time.After(bound):
		t.Fatal("the other sleeper did not get the released lock")
	}
	if w := m.r.waiters.Load(); w != 0 {
		t.Errorf("%d sleepers counted after both left", w)
	}
}

// waitFor waits, within bound, until cond holds: a word another goroutine
// or process changes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(bound); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %s in %v", what, bound)
		}
	}
}

// TestMutexAcrossProcesses proves mutual exclusion between processes that
// map the memory, and goroutines of this one: counts made by a load and a
// store under the lock are all kept.
func TestMutexAcrossProcesses(t *testing.T) {
	const procs, gors, n = 3, 2, 200000
	s := newSlots(t)
	s.Mutex(lockID).Init()
	c := gather(t, s, "count", lockID, procs, gors, n, func(seat Seat, gate *Semaphore) error {
		return increments(s.Mutex(lockID), s.Slot(counterID), seat, n, gate)
	})
	start := time.Now()
	c.run(t)
	t.Logf("%d increments in %v", (procs+gors)*n, time.Since(start))
	if got, _ := s.Slot(counterID).Load(); got != (procs+gors)*n {
		t.Errorf("counter %v, want %d", got, (procs+gors)*n)
	}
}

// TestTimeoutAcrossProcesses proves that an Acquire of a lock another
// process holds returns false once its wait runs out, and that the lock
// is taken once that process lets it go.
func TestTimeoutAcrossProcesses(t *testing.T) {
	s := newSlots(t)
	s.Mutex(lockID).Init()
	s.Semaphore(semID).Init(1, false)
	st := seats(t, s, 2)
	h := startHelper(t, s, "hold", lockID, semID, st[0])
	if l := h.line(t); l != "held" {
		t.Fatalf("helper said %q", l)
	}
	m := s.Mutex(lockID)
	const wait = 200 * time.Millisecond
	start := time.Now()
	ok, _, err := m.Acquire(context.Background(), st[1], wait)
	if took := time.Since(start); ok || err != nil || took < wait || took > bound {
		t.Errorf("Acquire(%v) of a held lock: %v, %v after %v", wait, ok, err, took)
	}
	if ok, _, _ := s.Semaphore(semID).Acquire(context.Background(), st[1], wait); ok {
		t.Error("took a permit of a semaphore with none free")
	}
	h.stdin.Close() // the helper releases both and ends
	if ok, abandoned, err := m.Acquire(context.Background(), st[1], bound); !ok || abandoned || err != nil {
		t.Errorf("Acquire once the holder let go: %v, %v, %v", ok, abandoned, err)
	}
	h.wait(t)
}

// TestAbandonedAfterKill proves that a lock and a permit held by a process
// killed with SIGKILL go, once the host has given them back, to a process
// sleeping on them, which is told they were abandoned; and that a killed
// sleeper no longer counts among the sleepers.
func TestAbandonedAfterKill(t *testing.T) {
	s := newSlots(t)
	m, sem := s.Mutex(lockID), s.Semaphore(semID)
	m.Init()
	sem.Init(1, true)
	st := seats(t, s, 3)
	holder := startHelper(t, s, "hold", lockID, semID, st[0])
	if l := holder.line(t); l != "held" {
		t.Fatalf("holder said %q", l)
	}
	sleeper := startHelper(t, s, "take", lockID, semID, st[1])
	doomed := startHelper(t, s, "take", lockID, semID, st[2])
	waitFor(t, "two sleepers", func() bool { return m.r.waiters.Load() == 2 })

	doomed.cmd.Process.Signal(syscall.SIGKILL)
	doomed.cmd.Wait()
	s.Vacate(st[2])
	if w := m.r.waiters.Load(); w != 1 {
		t.Errorf("%d sleepers counted after one was killed, want 1", w)
	}
	holder.cmd.Process.Signal(syscall.SIGKILL)
	holder.cmd.Wait()
	if !m.Died(st[0]) {
		t.Fatal("Died: the killed holder did not hold the lock")
	}
	s.Vacate(st[0])
	for _, want := range []string{"lock true true <nil>", "semaphore true true <nil>"} {
		if l := sleeper.line(t); l != want {
			t.Errorf("the sleeper said %q, want %q", l, want)
		}
	}
	sleeper.wait(t)
	if m.Locked() || sem.Value() != 1 {
		t.Errorf("at the end: locked %v, %d permits; want free, 1", m.Locked(), sem.Value())
	}
}

// TestSemaphoreAcrossProcesses proves that a bounded semaphore's permits
// never go below 0 nor above its bound while processes and goroutines
// take and give them, and that it refuses a release above its bound.
func TestSemaphoreAcrossProcesses(t *testing.T) {
	const limit, procs, gors, n = 2, 3, 2, 50000
	s := newSlots(t)
	sem := s.Semaphore(semID)
	sem.Init(limit, true)
	c := gather(t, s, "permits", semID, procs, gors, n, func(seat Seat, gate *Semaphore) error {
		return permitTurns(sem, s.Slot(counterID), seat, n, gate)
	})
	c.run(t)
	if v := sem.Value(); v != limit {
		t.Errorf("%d permits free at the end, want %d", v, limit)
	}
	if err := sem.Release(c.seats[0]); !errors.Is(err, ErrTooManyReleases) {
		t.Errorf("a release above the bound: %v, want ErrTooManyReleases", err)
	}
}

// TestSemaphoreGiveBack proves what the host gives back of a dead
// process's permits: no more than brings the semaphore up to its initial
// value, so permits taken as signals are not handed out twice; and that a
// seat records the permits of a bounded number of semaphores.
func TestSemaphoreGiveBack(t *testing.T) {
	s := newSlots(t)
	ctx := context.Background()
	sem := s.Semaphore(semID)
	sem.Init(1, false)
	st := seats(t, s, 2)
	a, b := st[0], st[1]
	sem.Acquire(ctx, a, 0)
	sem.Release(b) // a signal: b held nothing
	sem.Acquire(ctx, a, 0)
	s.Vacate(a) // a held 2 of a semaphore of 1, none free
	if v := sem.Value(); v != 1 {
		t.Errorf("%d permits after a dead process's 2 were given back, want 1", v)
	}
	if ok, abandoned, _ := sem.Acquire(ctx, b, 0); !ok || !abandoned {
		t.Errorf("Acquire of the permit given back: %v, %v", ok, abandoned)
	}
	for i := range seatEntries {
		other := s.Semaphore(uint64(100 + i))
		other.Init(1, false)
		if _, _, err := other.Acquire(ctx, a, 0); err != nil {
			t.Fatalf("the permit of semaphore %d: %v", i+1, err)
		}
	}
	s.Semaphore(200).Init(1, false)
	if _, _, err := s.Semaphore(200).Acquire(ctx, a, 0); !errors.Is(err, ErrTooManySemaphores) {
		t.Errorf("a permit of one semaphore too many: %v", err)
	}
	if v := s.Semaphore(200).Value(); v != 1 {
		t.Errorf("the refused Acquire left %d permits, want 1", v)
	}
}

// TestSeats proves that seats are handed out once each, and again once
// vacated, up to Seats-1.
func TestSeats(t *testing.T) {
	s := newSlots(t)
	seen := make(map[Seat]bool)
	for range Seats - 1 {
		seat, err := s.TakeSeat()
		if err != nil || seat == 0 || seen[seat] {
			t.Fatalf("TakeSeat: %d, %v (seen: %v)", seat, err, seen[seat])
		}
		seen[seat] = true
	}
	if _, err := s.TakeSeat(); !errors.Is(err, ErrNoSeat) {
		t.Fatalf("a seat past the last: %v", err)
	}
	s.Vacate(7)
	if seat, err := s.TakeSeat(); seat != 7 || err != nil {
		t.Errorf("after seat 7 was vacated: %d, %v", seat, err)
	}
}
