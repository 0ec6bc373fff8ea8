package futex

import (
	"sync/atomic"
	"testing"
	"time"
)

// bound is how long the tests wait for a sleeper: a bound against a hang,
// never a measure of speed.
const bound = 60 * time.Second

// TestWait proves the three ways out of Wait: at once when the word does
// not hold the value, ErrTimedOut once the timeout passes, and nil when
// another goroutine changes the word and wakes it.
func TestWait(t *testing.T) {
	var word atomic.Uint32
	word.Store(1)
	if err := Wait(&word, 0, bound); err != nil {
		t.Errorf("Wait on a word that does not hold the value: %v", err)
	}
	const timeout = 50 * time.Millisecond
	start := time.Now()
	if err := Wait(&word, 1, timeout); err != ErrTimedOut || time.Since(start) < timeout {
		t.Errorf("Wait(%v): %v after %v; want ErrTimedOut after the timeout", timeout, err, time.Since(start))
	}
	woken := make(chan error, 1)
	go func() {
		for word.Load() == 1 { // a wake may come before the sleep: wait again
			if err := Wait(&word, 1, Forever); err != nil {
				woken <- err
				return
			}
		}
		woken <- nil
	}()
	word.Store(2)
	Wake(&word, 1)
	select {
	case err := <-woken:
		if err != nil {
			t.Errorf("woken Wait: %v", err)
		}
	case <-time.After(bound):
		t.Fatal("the sleeper was not woken")
	}
}
