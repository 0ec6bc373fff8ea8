package objects

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/pipesock"
)

// recv starts a PipeEnd.Recv in a goroutine.
func recv(ctx context.Context, e *PipeEnd, w Wait) <-chan result {
	return startData(func() ([]byte, error) { return e.Recv(ctx, reader, w) })
}

// cannotRead fails the test unless a Recv and a Poll on e, which is what says, both return
// want at once.
func cannotRead(t *testing.T, e *PipeEnd, what string, want error) {
	t.Helper()
	if _, err := e.Recv(bg, reader, DontWait); !errors.Is(err, want) {
		t.Fatalf("Recv on %s = %v, want %v", what, err, want)
	}
	if _, err := e.Poll(bg, reader, DontWait); !errors.Is(err, want) {
		t.Fatalf("Poll on %s = %v, want %v", what, err, want)
	}
}

// mustSend sends or fails the test.
func mustSend(t *testing.T, e *PipeEnd, msgs ...string) {
	t.Helper()
	for _, msg := range msgs {
		if err := e.Send(bg, 1, []byte(msg)); err != nil {
			t.Fatalf("Send(%q): %v", msg, err)
		}
	}
}

// mustRecv receives at once and checks the message, or fails the test.
func mustRecv(t *testing.T, e *PipeEnd, want string) {
	t.Helper()
	got, err := e.Recv(bg, reader, DontWait)
	if err != nil || string(got) != want {
		t.Fatalf("Recv = %q, %v; want %q", got, err, want)
	}
}

// recvWaiting reports whether a Recv or Poll is parked on e.
func recvWaiting(e *PipeEnd) bool { return e.waiting.Load() > 0 }

// closeBy closes owner's hold on e, the only hold there is: e closes.
func closeBy(e *PipeEnd, owner Owner) {
	r := NewRegistry()
	r.Close(owner, r.AddHeld(e, owner))
}

// newPipe makes a pipe whose sockets are let go when the test ends.
func newPipe(t *testing.T, duplex bool) (a, b *PipeEnd) {
	t.Helper()
	a, b, err := NewPipe(duplex, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Release)
	return a, b
}

func TestPipeDuplex(t *testing.T) {
	a, b := newPipe(t, true)
	if !a.Readable() || !a.Writable() || !b.Readable() || !b.Writable() {
		t.Fatal("duplex ends not both ways")
	}
	mustSend(t, a, "to b 1", "to b 2")
	mustSend(t, b, "to a")
	mustRecv(t, b, "to b 1")
	mustRecv(t, b, "to b 2")
	mustRecv(t, a, "to a")
	got := recv(bg, a, WaitForever)
	eventually(t, "the recv waits", func() bool { return recvWaiting(a) })
	mustSend(t, b, "late")
	if r := await(t, got); r.err != nil || string(r.data) != "late" {
		t.Fatalf("Recv = %+v", r)
	}
}

func TestPipeOneWay(t *testing.T) {
	a, b := newPipe(t, false)
	if !a.Readable() || a.Writable() || b.Readable() || !b.Writable() {
		t.Fatal("one-way ends have the wrong directions")
	}
	if err := a.Send(bg, 1, []byte("x")); !errors.Is(err, ErrWrongDirection) {
		t.Fatalf("Send on receive-only end = %v", err)
	}
	cannotRead(t, b, "a send-only end", ErrWrongDirection)
	mustSend(t, b, "x")
	mustRecv(t, a, "x")
}

func TestPipeRecvTimeout(t *testing.T) {
	a, _ := newPipe(t, true)
	if _, err := a.Recv(bg, reader, DontWait); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Recv = %v, want ErrEmpty", err)
	}
	began := time.Now()
	if _, err := a.Recv(bg, reader, WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Recv = %v, want ErrEmpty", err)
	}
	atLeast(t, began, shortWait)
}

func TestPipePoll(t *testing.T) {
	a, b := newPipe(t, true)
	if ok, err := a.Poll(bg, reader, DontWait); ok || err != nil {
		t.Fatalf("Poll on empty pipe = %v, %v", ok, err)
	}
	began := time.Now()
	if ok, err := a.Poll(bg, reader, WaitUpTo(shortWait)); ok || err != nil {
		t.Fatalf("Poll = %v, %v; want false after the timeout", ok, err)
	}
	atLeast(t, began, shortWait)
	polling := startOK(func() (bool, error) { return a.Poll(bg, reader, WaitForever) })
	eventually(t, "the poll waits", func() bool { return recvWaiting(a) })
	mustSend(t, b, "x")
	if r := await(t, polling); !r.ok || r.err != nil {
		t.Fatalf("Poll = %+v", r)
	}
	mustRecv(t, a, "x") // Poll left the message
	closeBy(b, 1)
	if ok, err := a.Poll(bg, reader, WaitForever); !ok || err != nil {
		t.Fatalf("Poll after the other end closed = %v, %v; want true (Recv will not block)", ok, err)
	}
	ctx, cancel := cancelled(t)
	c, _ := newPipe(t, true)
	polling = startOK(func() (bool, error) { return c.Poll(ctx, reader, WaitForever) })
	eventually(t, "the poll waits", func() bool { return recvWaiting(c) })
	cancel()
	if r := await(t, polling); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Poll = %+v", r)
	}
}

func TestPipeCloseDrains(t *testing.T) {
	a, b := newPipe(t, true)
	mustSend(t, b, "1", "2", "3")
	mustSend(t, a, "unread")
	closeBy(b, 1)
	closeBy(b, 1)
	if !b.Closed() || a.Closed() {
		t.Fatal("Close closed the wrong end")
	}
	for _, want := range []string{"1", "2", "3"} {
		mustRecv(t, a, want)
	}
	if _, err := a.Recv(bg, reader, WaitForever); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after drain = %v, want ErrClosed", err)
	}
	if err := a.Send(bg, 1, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send to closed end = %v, want ErrClosed", err)
	}
	if err := b.Send(bg, reader, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send on closed end = %v, want ErrClosed", err)
	}
	if err := b.Send(bg, 1, []byte("x")); !errors.Is(err, ErrUseAfterClose) {
		t.Fatalf("Send on the end its sender closed = %v, want ErrUseAfterClose", err)
	}
	cannotRead(t, b, "a closed end", ErrClosed)
	if _, err := b.Socket(2, newTally(new(atomic.Uint64)), func(int) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Socket of closed end = %v, want ErrClosed", err)
	}
}

func TestPipeCloseWakesRecv(t *testing.T) {
	a, b := newPipe(t, false)
	other := recv(bg, a, WaitForever)
	eventually(t, "the recv waits", func() bool { return recvWaiting(a) })
	closeBy(b, 1)
	if r := await(t, other); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Recv when the other end closed = %+v", r)
	}

	a, _ = newPipe(t, false)
	own := recv(bg, a, WaitForever)
	eventually(t, "the recv waits", func() bool { return recvWaiting(a) })
	closeBy(a, 1)
	if r := await(t, own); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Recv when its own end closed = %+v", r)
	}
}

func TestPipeRecvCancel(t *testing.T) {
	a, _ := newPipe(t, true)
	ctx, cancel := cancelled(t)
	got := recv(ctx, a, WaitForever)
	eventually(t, "the recv waits", func() bool { return recvWaiting(a) })
	cancel()
	if r := await(t, got); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Recv = %+v", r)
	}
}

// A process B that had the socket dies while another process C opens the
// end and relays a message it counted: whatever the interleaving, the gate
// ends at 0 once the message is written, never below (it would wrap into
// the flag bits).
var spin atomic.Int64

func TestDeathOfOneSenderKeepsAnothersCount(t *testing.T) {
	const B, C Owner = 2, 3
	bad := 0
	for i := 0; i < 5000 && bad == 0; i++ {
		a, b, err := NewPipe(true, 0)
		if err != nil {
			t.Fatal(err)
		}
		var word atomic.Uint64
		a.Share(&word)
		b.Share(new(atomic.Uint64))
		a.Socket(B, newTally(new(atomic.Uint64)), func(int) error { return nil })
		var wg sync.WaitGroup
		start := make(chan struct{})
		died := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; a.died(B); close(died) }()
		go func() {
			defer wg.Done()
			<-start
			for range i % 64 {
				spin.Add(1)
			}
			tally := new(atomic.Uint64)
			if _, err := a.Socket(C, newTally(tally), func(int) error { return nil }); err != nil {
				return
			}
			a.sock.Count() // the child counts (its message does not fit, say)
			tally.Add(1)
			<-died // its relay travels through the call socket meanwhile
			a.Relay(bg, C, []byte("hello"))
		}()
		close(start)
		wg.Wait()
		if g := word.Load(); g != 0 {
			bad++
			t.Errorf("iteration %d: gate %#x after one message written (Closed=%v PeerClosed=%v), want 0",
				i, g, g&pipesock.Closed != 0, g&pipesock.PeerClosed != 0)
		}
		a.Release()
	}
}

// newTally returns a maker of the tally word for PipeEnd.Socket.
func newTally(word *atomic.Uint64) func() (uint64, *atomic.Uint64) {
	return func() (uint64, *atomic.Uint64) { return 1, word }
}

// A process that asks twice for an end's socket keeps one tally: what it
// counts is what the host takes off, and nothing is left on the gate.
func TestSocketTwiceKeepsOneTally(t *testing.T) {
	a, b := newPipe(t, true)
	var gate atomic.Uint64
	a.Share(&gate)
	b.Share(new(atomic.Uint64))
	const P Owner = 7
	var made []*atomic.Uint64
	maker := func() (uint64, *atomic.Uint64) {
		made = append(made, new(atomic.Uint64))
		return uint64(len(made)), made[len(made)-1]
	}
	first, err := a.Socket(P, maker, func(int) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Socket(P, maker, func(int) error { return nil })
	if err != nil || second != first || len(made) != 1 {
		t.Fatalf("second Socket = tally %d, %v (first %d, %d made); want the same one", second, err, first, len(made))
	}
	for range 3 {
		a.sock.Count()
		made[0].Add(1)
		if err := a.Relay(bg, P, []byte("x")); err != nil {
			t.Fatal(err)
		}
		mustRecv(t, b, "x")
	}
	a.died(P)
	if g := gate.Load(); g&^(pipesock.Closed|pipesock.PeerClosed) != 0 {
		t.Fatalf("gate %#x once every message was written and the sender died, want 0", g)
	}
}

// reader is a process that receives on the ends of the tests and never closes them.
const reader Owner = 9
