package slots

import (
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func newSlots(t testing.TB) *Slots {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestSlot proves what a slot holds: the exact bits of any number but
// Other, Other for something else, and sums by Add, which refuses Other.
func TestSlot(t *testing.T) {
	s := newSlots(t)
	if s.Slot(0) != nil || s.Slot(Count) != nil || (*Slots)(nil).Slot(1) != nil {
		t.Error("a slot for id 0, for id Count, or from no memory; want none")
	}
	slot := s.Slot(7)
	if n, ok := slot.Load(); !ok || n != 0 || math.Signbit(n) {
		t.Errorf("a new slot holds %v, %v; want 0, true", n, ok)
	}
	for _, n := range []float64{1.5, math.Copysign(0, -1), math.Inf(-1), math.Float64frombits(0x7ff8000000000abc)} {
		slot.Store(n)
		if got, ok := slot.Load(); !ok || math.Float64bits(got) != math.Float64bits(n) {
			t.Errorf("stored %v, loaded %v, %v", n, got, ok)
		}
	}
	if Holds(math.Float64frombits(Other)) || !Holds(math.NaN()) {
		t.Error("Holds: want every number but the one with Other's bits")
	}
	slot.Store(40)
	if sum, ok := slot.Add(2); !ok || sum != 42 {
		t.Errorf("Add(2) to 40 = %v, %v", sum, ok)
	}
	slot.StoreOther()
	if _, ok := slot.Load(); ok {
		t.Error("Load of Other: ok, want not")
	}
	if _, ok := slot.Add(1); ok {
		t.Error("Add to Other: ok, want not")
	}
	if _, ok := slot.Load(); ok {
		t.Error("Add to Other changed it")
	}
}

// TestSlotsAreShared proves that a second mapping of the same file (as a
// child makes from the descriptor it inherits) sees and changes the same
// numbers, and that concurrent adds through both lose none.
func TestSlotsAreShared(t *testing.T) {
	s := newSlots(t)
	fd, err := unix.Dup(int(s.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	s.Slot(3).Store(5)
	if n, _ := other.Slot(3).Load(); n != 5 {
		t.Fatalf("the other mapping sees %v, want 5", n)
	}
	var wg sync.WaitGroup
	for _, m := range []*Slots{s, other, s, other} {
		wg.Go(func() {
			for range 10000 {
				m.Slot(3).Add(1)
			}
		})
	}
	wg.Wait()
	if n, _ := s.Slot(3).Load(); n != 40005 {
		t.Errorf("after 40000 adds through two mappings: %v, want 40005", n)
	}
}

// TestOpenRefusesOtherFiles proves that a child maps only the memory: a
// descriptor that is closed, a file of another size, and a plain file of
// the very size are refused, and left open on exec.
func TestOpenRefusesOtherFiles(t *testing.T) {
	if _, err := Open(999); err == nil {
		t.Error("Open of a closed descriptor: no error")
	}
	f, err := os.CreateTemp(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Open(int(f.Fd())); err == nil {
		t.Error("Open of an empty file: no error")
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil { // as an inherited one is
		t.Fatal(err)
	}
	if _, err := Open(int(f.Fd())); err == nil {
		t.Error("Open of a plain file of the memory's size: no error")
	}
	if flags, _ := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
		t.Error("a refused descriptor was made close-on-exec")
	}
}

// TestMemoryCannotBeResized proves that no process can shrink or grow the
// memory (which would kill every process mapping it with SIGBUS): not
// through its descriptor, nor through /proc/self/fd opened for writing.
func TestMemoryCannotBeResized(t *testing.T) {
	s := newSlots(t)
	s.Slot(9).Store(3)
	if err := s.File().Truncate(0); err == nil {
		t.Error("Truncate(0) of the memory: no error")
	}
	if err := s.File().Truncate(2 * size); err == nil {
		t.Error("growing the memory: no error")
	}
	path := fmt.Sprintf("/proc/self/fd/%d", s.File().Fd())
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0); err == nil {
		f.Close()
		t.Errorf("opening %s to truncate it: no error", path)
	}
	if n, ok := s.Slot(9).Load(); !ok || n != 3 {
		t.Errorf("the slot holds %v, %v after the attempts; want 3", n, ok)
	}
}
