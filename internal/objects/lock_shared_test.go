package objects

import (
	"context"
	"testing"

	"github.com/mphost/mphost/internal/slots"
)

// A lock in shared memory serves an owner the host gave no seat (a
// process whose calls it serves from elsewhere): the Registry lends it one,
// and Died frees the lock it held, marked abandoned, and takes the seat
// back.
func TestSharedLockLendsASeat(t *testing.T) {
	mem, err := slots.New()
	if err != nil {
		t.Skipf("no shared memory here: %v", err)
	}
	defer mem.Close()
	r := NewRegistry()
	r.UseMemory(mem)
	seated, _ := mem.TakeSeat()
	r.SetSeat(MainScript, seated)
	l := NewLock()
	id := r.AddHeld(l, MainScript)
	l.Share(mem.RMutex(id))

	const far Owner = 7
	ctx := context.Background()
	if ok, _, err := l.Acquire(ctx, far, DontWait); !ok || err != nil {
		t.Fatalf("acquire for an owner without a seat: %v, %v", ok, err)
	}
	lent := r.seatOf(far)
	if lent == 0 || lent == seated {
		t.Fatalf("lent seat %d (the main script's is %d)", lent, seated)
	}
	if ok, _, _ := l.Acquire(ctx, MainScript, DontWait); ok {
		t.Fatal("the main script took a lock another owner holds")
	}
	r.Died(far)
	if r.seatOf(far) != 0 {
		t.Error("the dead owner keeps its seat")
	}
	if ok, abandoned, err := l.Acquire(ctx, MainScript, DontWait); !ok || !abandoned || err != nil {
		t.Fatalf("after the holder died: %v, %v, %v; want true, abandoned", ok, abandoned, err)
	}
	if again, _ := mem.TakeSeat(); again != lent {
		t.Errorf("the next seat given out is %d, want the lent one back (%d)", again, lent)
	}
}
