package objects

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// Bounds for the tests: how long a wait meant to time out waits, and the longest any test waits
// for a goroutine to reach a state or deliver a result before failing.
const (
	shortWait = 20 * time.Millisecond
	patience  = 10 * time.Second
)

var bg = context.Background()

// result is what a call started by start returned.
type result struct {
	ok, abandoned bool
	n             int
	data          []byte
	err           error
}

// start runs f in a goroutine and returns the channel its result arrives on.
func start(f func() result) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- f() }()
	return ch
}

// startOK runs f, a call that reports ok and an error, in a goroutine.
func startOK(f func() (bool, error)) <-chan result {
	return start(func() result {
		ok, err := f()
		return result{ok: ok, err: err}
	})
}

// startData runs f, a call that returns data and an error, in a goroutine.
func startData(f func() ([]byte, error)) <-chan result {
	return start(func() result {
		data, err := f()
		return result{data: data, err: err}
	})
}

// await returns the result from ch, failing the test if none arrives within patience.
func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatal("call did not return")
		return result{}
	}
}

// pending fails the test if a result has already arrived on ch.
func pending(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("call returned early: %+v", r)
	default:
	}
}

// eventually waits until cond holds, yielding to other goroutines, failing the test after
// patience. It is how a test knows that another goroutine has parked in a call.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("timed out waiting until %s", what)
		}
		runtime.Gosched()
	}
}

// atLeast fails the test if a call that should have waited for its timeout returned sooner.
func atLeast(t *testing.T, began time.Time, d time.Duration) {
	t.Helper()
	if got := time.Since(began); got < d {
		t.Fatalf("returned after %v, before its %v timeout", got, d)
	}
}

// cancelled returns a context and its cancel function, cancelled at the end of the test too.
func cancelled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(bg)
	t.Cleanup(cancel)
	return ctx, cancel
}

// acquirer is what lock tests need of a Lock, RLock or Semaphore.
type acquirer interface {
	Acquire(ctx context.Context, owner Owner, w Wait) (ok, abandoned bool, err error)
	Release(owner Owner) error
}

// acquire starts an Acquire in a goroutine.
func acquire(ctx context.Context, l acquirer, owner Owner, w Wait) <-chan result {
	return start(func() result {
		ok, abandoned, err := l.Acquire(ctx, owner, w)
		return result{ok: ok, abandoned: abandoned, err: err}
	})
}

// mustAcquire acquires at once or fails the test, and returns the abandoned flag.
func mustAcquire(t *testing.T, l acquirer, owner Owner) bool {
	t.Helper()
	ok, abandoned, err := l.Acquire(bg, owner, DontWait)
	if !ok || err != nil {
		t.Fatalf("Acquire(owner %d) = %v, %v; want it at once", owner, ok, err)
	}
	return abandoned
}

// mustRelease releases or fails the test.
func mustRelease(t *testing.T, l acquirer, owner Owner) {
	t.Helper()
	if err := l.Release(owner); err != nil {
		t.Fatalf("Release(owner %d): %v", owner, err)
	}
}
