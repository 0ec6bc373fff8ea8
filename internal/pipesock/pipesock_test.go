package pipesock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bg is the context of the sends that the tests do not cancel.
var bg = context.Background()

// pair opens both ends of a new pipe, each with a gate of its own.
func pair(t *testing.T) (a, b *Conn) {
	t.Helper()
	fa, fb, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	if a, err = Open(fa, new(atomic.Uint64)); err != nil {
		t.Fatal(err)
	}
	if b, err = Open(fb, new(atomic.Uint64)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// recvMessage receives one message on c, taking a held one from sender.
func recvMessage(t *testing.T, c, sender *Conn, deadline time.Time) []byte {
	t.Helper()
	msg, held, err := c.Recv(context.Background(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		var ok bool
		if msg, ok = sender.Take(held); !ok {
			t.Fatalf("held message %d is gone", held)
		}
	}
	return msg
}

func TestSendAndReceive(t *testing.T) {
	a, b := pair(t)
	if sent, err := a.TrySend([]byte("ping")); !sent || err != nil {
		t.Fatalf("TrySend = %v, %v", sent, err)
	}
	if got := recvMessage(t, b, a, time.Time{}); string(got) != "ping" {
		t.Fatalf("got %q", got)
	}
	if _, _, err := b.Recv(context.Background(), Deadline(false, false, 0)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv on an empty socket without waiting: %v", err)
	}
	start := time.Now()
	if _, _, err := b.Recv(context.Background(), Deadline(true, false, 20*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Recv with a timeout: %v", err)
	}
	if waited := time.Since(start); waited < 15*time.Millisecond {
		t.Fatalf("Recv with a timeout of 20ms returned after %v", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, _, err := b.Recv(ctx, time.Time{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv whose context is cancelled: %v", err)
	}
	if ok, err := b.Poll(context.Background(), time.Time{}.Add(1)); ok || err != nil {
		t.Fatalf("Poll of an empty socket = %v, %v", ok, err)
	}
	a.Send(bg, []byte("x"))
	if ok, err := b.Poll(context.Background(), time.Time{}); !ok || err != nil {
		t.Fatalf("Poll with a message waiting = %v, %v", ok, err)
	}
	if got := recvMessage(t, b, a, time.Time{}); string(got) != "x" {
		t.Fatalf("after Poll, got %q", got)
	}
}

// A sender that fills the socket goes on through the backlog, and large
// messages are held: the reader gets every message, in order.
func TestBacklogKeepsOrder(t *testing.T) {
	a, b := pair(t)
	const n = 3000
	message := func(i int) []byte {
		size := 100
		if i%500 == 7 {
			size = 3 * Inline // held
		}
		return bytes.Repeat([]byte(fmt.Sprint(i%10)), size)
	}
	direct := 0
	for i := range n {
		if sent, err := a.TrySend(message(i)); err != nil {
			t.Fatal(err)
		} else if sent {
			direct++
		} else if err := a.Enqueue(bg, message(i), false); err != nil {
			t.Fatal(err)
		}
	}
	if direct == 0 || direct == n {
		t.Fatalf("%d of %d messages went straight into the socket: the test wants some of each", direct, n)
	}
	if a.gate.Load() == 0 {
		t.Fatal("the gate is open while the backlog holds messages")
	}
	for i := range n {
		if got := recvMessage(t, b, a, time.Now().Add(5*time.Second)); !bytes.Equal(got, message(i)) {
			t.Fatalf("message %d: got %d bytes of %q", i, len(got), got[:1])
		}
	}
	written := make(chan struct{})
	go func() { a.writer.Wait(); close(written) }()
	select {
	case <-written:
	case <-time.After(5 * time.Second):
		t.Fatal("the backlog's writer has not ended 5s after every message was received")
	}
	if g := a.gate.Load(); g != 0 {
		t.Fatalf("the gate is %d once the backlog is written", g)
	}
}

// Shutting an end: the other end receives what was sent before, then the
// end of the pipe, and can no longer send.
func TestShut(t *testing.T) {
	a, b := pair(t)
	for i := range 400 { // past what the socket takes
		if err := a.Send(bg, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b.Send(bg, []byte("dropped"))
	a.Shut()
	if !a.Closed() {
		t.Fatal("a shut end is not Closed")
	}
	if _, _, err := a.Recv(context.Background(), time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv on the shut end = %v; want ErrClosed (what it had not received is dropped)", err)
	}
	for i := range 400 {
		if got := recvMessage(t, b, a, time.Now().Add(5*time.Second)); got[0] != byte(i) {
			t.Fatalf("message %d: got %d", i, got[0])
		}
	}
	if _, _, err := b.Recv(context.Background(), time.Now().Add(5*time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after the last message = %v; want ErrClosed", err)
	}
	if ok, err := b.Poll(context.Background(), time.Time{}); !ok || err != nil {
		t.Fatalf("Poll at the end of the pipe = %v, %v; want true", ok, err)
	}
	if _, err := b.TrySend([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("TrySend to a shut end = %v; want ErrClosed", err)
	}
	if err := a.Enqueue(bg, []byte("late"), false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue on a shut end = %v; want ErrClosed", err)
	}
}

// A packet that is not one of ours (a process that writes into its socket
// what it likes) is an error for the receiver, who then goes on.
func TestMalformedPacket(t *testing.T) {
	a, b := pair(t)
	for _, p := range [][]byte{{'x', 1, 2}, {kindHeld, 1}} {
		if err := a.Control(func(fd int) error { _, err := unix.Write(fd, p); return err }); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.Recv(context.Background(), time.Time{}); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Fatalf("Recv of the packet %q = %v; want an error that says it is malformed", p, err)
		}
	}
	a.Send(bg, []byte("good"))
	if got := recvMessage(t, b, a, time.Time{}); string(got) != "good" {
		t.Fatalf("after malformed packets, got %q", got)
	}
}
