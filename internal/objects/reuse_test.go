package objects

import (
	"errors"
	"os"
	"testing"

	"github.com/mphost/mphost/internal/pipesock"
	"github.com/mphost/mphost/internal/slots"
)

// The tests of this file check that nothing writes to the slot of an object the Registry has
// freed: once its index is handed out again, the slot is the new object's.

// sharedRegistry returns a Registry whose objects' slots are in shared memory, cleared when an
// id is freed, as the host does.
func sharedRegistry(t *testing.T) (*Registry, *slots.Slots) {
	t.Helper()
	mem, err := slots.New()
	if err != nil {
		t.Skipf("no shared memory: %v", err)
	}
	r := NewRegistry()
	r.OnFree(func(id uint64) { mem.Word(id).Store(0) })
	t.Cleanup(func() {
		r.Release()
		mem.Close()
	})
	return r, mem
}

// sharedPipe adds a new pipe's ends to r, held by owner, with their gates in mem.
func sharedPipe(t *testing.T, r *Registry, mem *slots.Slots, owner Owner) (a, b *PipeEnd, ida, idb uint64) {
	t.Helper()
	a, b, err := NewPipe(true, 0)
	if err != nil {
		t.Fatal(err)
	}
	ida, idb = r.AddHeld(a, owner), r.AddHeld(b, owner)
	a.Share(mem.Word(ida))
	b.Share(mem.Word(idb))
	return a, b, ida, idb
}

// untouched checks that pipe c-d, made after another pipe's end was freed, still works both
// ways and that its gates say nothing.
func untouched(t *testing.T, mem *slots.Slots, c, d *PipeEnd, idc, idd uint64) {
	t.Helper()
	for _, id := range []uint64{idc, idd} {
		if g := mem.Word(id).Load(); g != 0 {
			t.Errorf("gate of the new end %d (index %d) is %#x (Closed=%v PeerClosed=%v), want 0",
				id, id&indexMask, g, g&pipesock.Closed != 0, g&pipesock.PeerClosed != 0)
		}
	}
	if c.Closed() || d.Closed() || c.sock.Refuses() || d.sock.Refuses() {
		t.Errorf("the new pipe reads closed: ends %v %v, gates refuse %v %v", c.Closed(), d.Closed(), c.sock.Refuses(), d.sock.Refuses())
	}
	mustSend(t, c, "to d")
	mustRecv(t, d, "to d")
	mustSend(t, d, "to c")
	mustRecv(t, c, "to c")
}

// A pipe end that is freed while its peer stays open keeps its index until the peer goes too:
// the peer's close marks the freed end's gate and shuts its socket, which must not reach the
// object that would have been given the index.
func TestClosingPeerLeavesReusedIndexAlone(t *testing.T) {
	r, mem := sharedRegistry(t)
	const owner Owner = 1
	a, _, ida, idb := sharedPipe(t, r, mem, owner)
	r.Adjust(owner, []Change{{ID: ida, Held: -1}}) // a is dropped: closed and freed
	if !a.Closed() {
		t.Fatal("the dropped end is not closed")
	}
	if _, err := r.Get(ida); !errors.Is(err, ErrNoObject) {
		t.Fatalf("Get of the freed end = %v, want ErrNoObject", err)
	}
	c, d, idc, idd := sharedPipe(t, r, mem, owner)
	v := NewValue(NumberContent(42))
	idv := r.AddHeld(v, owner)
	v.Share(mem.Slot(idv))
	r.Adjust(owner, []Change{{ID: idb, Held: -1}}) // b goes too: the pipe is released
	untouched(t, mem, c, d, idc, idd)
	if got := v.Get(); !got.IsNumber || got.Number != 42 {
		t.Errorf("Value made after the end was freed holds %+v, want 42", got)
	}
	// Once both ends are gone, their indexes are handed out again.
	reused := map[uint64]bool{}
	for range 2 {
		reused[r.AddHeld(NewEvent(), owner)&indexMask] = true
	}
	if !reused[ida&indexMask] || !reused[idb&indexMask] {
		t.Errorf("indexes handed out after both ends went: %v, want %d and %d", reused, ida&indexMask, idb&indexMask)
	}
}

// A pipe end freed while the host still writes its backlog to the other end (which reads it)
// keeps its index until that is done: each message written is taken off the end's gate.
func TestBacklogOfFreedEndLeavesReusedIndexAlone(t *testing.T) {
	r, mem := sharedRegistry(t)
	const owner Owner = 1
	a, b, ida, _ := sharedPipe(t, r, mem, owner)
	msg := make([]byte, 1000)
	sent := 0
	for {
		if held, _ := a.sock.Holding(); held > 0 {
			break // the socket is full: the rest waits in the host
		}
		if err := a.Send(bg, owner, msg); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for range 10 {
		if err := a.Send(bg, owner, msg); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	r.Adjust(owner, []Change{{ID: ida, Held: -1}}) // a is dropped: b reads what it sent, then the end
	v := NewValue(NumberContent(42))
	idv := r.AddHeld(v, owner)
	v.Share(mem.Slot(idv))
	c, d, idc, idd := sharedPipe(t, r, mem, owner)
	got := 0
	for {
		_, err := b.Recv(bg, owner, Wait{Block: true, Forever: true})
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if got != sent {
		t.Errorf("b received %d messages, want the %d sent", got, sent)
	}
	if got := v.Get(); !got.IsNumber || got.Number != 42 {
		t.Errorf("Value made after the end was freed holds %+v, want 42", got)
	}
	untouched(t, mem, c, d, idc, idd)
}

// openFiles is the number of files this process has open.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(fds)
}

// The host keeps a file for a closed end only while it writes what the end sent before it
// closed; a pipe whose one end is closed holds one file.
func TestClosedEndGivesBackItsFile(t *testing.T) {
	r, mem := sharedRegistry(t)
	const owner Owner = 1
	before := openFiles(t)
	_, b, ida, _ := sharedPipe(t, r, mem, owner)
	if n := openFiles(t); n != before+2 {
		t.Fatalf("%d files with a pipe open, want %d", n, before+2)
	}
	r.Adjust(owner, []Change{{ID: ida, Held: -1}})
	if n := openFiles(t); n != before+1 {
		t.Fatalf("%d files once one end is closed, want %d", n, before+1)
	}
	if _, err := b.Recv(bg, owner, DontWait); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv on the open end = %v, want ErrClosed", err)
	}
	// An end closed with a backlog keeps its file until the other end has read it.
	c, d, idc, _ := sharedPipe(t, r, mem, owner)
	msg := make([]byte, 1000)
	sent := 0
	for held, _ := c.sock.Holding(); held == 0; held, _ = c.sock.Holding() {
		mustSend(t, c, string(msg))
		sent++
	}
	r.Adjust(owner, []Change{{ID: idc, Held: -1}})
	if n := openFiles(t); n != before+3 {
		t.Fatalf("%d files while a closed end's backlog waits, want %d", n, before+3)
	}
	for range sent {
		if _, err := d.Recv(bg, owner, Wait{Block: true, Forever: true}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the closed end's file is closed", func() bool { return openFiles(t) == before+2 })
	if _, err := d.Recv(bg, owner, Wait{Block: true, Forever: true}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the backlog = %v, want ErrClosed", err)
	}
}
