package pipesock

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// Enqueue's direct write into a socket whose reader is gone
// returns ErrClosed, takes the message off the gate and forgets only the
// message it held for it: one held before, whose packet the reader read,
// can still be taken.
func TestEnqueueToAClosedReader(t *testing.T) {
	a, b := pair(t)
	big1 := bytes.Repeat([]byte("1"), Inline+10)
	if err := a.Enqueue(bg, big1, false); err != nil {
		t.Fatal(err)
	}
	_, held, err := b.Recv(context.Background(), time.Now().Add(time.Second))
	if err != nil || held == 0 {
		t.Fatalf("Recv = held %d, %v", held, err)
	}
	b.file.Close() // the reader's socket is gone
	big2 := bytes.Repeat([]byte("2"), Inline+10)
	if err := a.Enqueue(bg, big2, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue to a closed reader = %v, want ErrClosed", err)
	}
	if g := a.gate.Load(); g != 0 {
		t.Errorf("gate %#x after a refused Enqueue, want 0", g)
	}
	a.mu.Lock()
	n := len(a.held)
	a.mu.Unlock()
	if n != 1 {
		t.Errorf("%d held messages, want 1 (the earlier one)", n)
	}
	if msg, ok := a.Take(held); !ok || !bytes.Equal(msg, big1) {
		t.Errorf("the earlier held message: ok %v", ok)
	}
	// counted=true (a child's relay): the count is the caller's, and goes.
	a.Count()
	if err := a.Enqueue(bg, []byte("x"), true); !errors.Is(err, ErrClosed) {
		t.Fatalf("counted Enqueue to a closed reader = %v", err)
	}
	if g := a.gate.Load(); g != 0 {
		t.Errorf("gate %#x after a refused counted Enqueue, want 0", g)
	}
}

// A message that the socket refuses as too large (its buffer is smaller than
// the Conn thought: forced here by raising inline) is held instead, and
// arrives; a held message whose packet is already in the socket stays.
func TestMessageTooLargeForTheSocketIsHeld(t *testing.T) {
	a, b := pair(t)
	big1 := bytes.Repeat([]byte("1"), Inline+10)
	if err := a.Enqueue(bg, big1, false); err != nil { // held, its packet sent
		t.Fatal(err)
	}
	a.inline = 1 << 20 // a packet the socket cannot take goes "inline"
	big2 := bytes.Repeat([]byte("2"), 300000)
	if err := a.Enqueue(bg, big2, false); err != nil {
		t.Fatalf("Enqueue of a message the socket refuses as too large = %v", err)
	}
	for _, want := range [][]byte{big1, big2} {
		if got := recvMessage(t, b, a, time.Now().Add(5*time.Second)); !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes of %q, want %d of %q", len(got), got[:1], len(want), want[:1])
		}
	}
	a.writer.Wait()
	if g := a.gate.Load(); g != 0 {
		t.Errorf("gate %#x once both are received, want 0", g)
	}
}

// The writer's conversion: an 'm' packet in the backlog that the socket
// refuses as too large becomes a held one; it arrives, and the gate ends at 0.
func TestWriterHoldsTooLargeMessages(t *testing.T) {
	a, b := pair(t)
	var sent [][]byte
	for i := 0; ; i++ {
		m := []byte{byte(i), byte(i >> 8), 'x'}
		ok, err := a.TrySend(m)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		sent = append(sent, m)
	}
	small := []byte("small")
	if err := a.Enqueue(bg, small, false); err != nil { // socket full: backlog, writer started
		t.Fatal(err)
	}
	a.mu.Lock()
	a.inline = 1 << 20
	a.mu.Unlock()
	big := bytes.Repeat([]byte("B"), 300000)
	if err := a.Enqueue(bg, big, false); err != nil { // behind small: an 'm' in the backlog
		t.Fatal(err)
	}
	after := []byte("after")
	if err := a.Enqueue(bg, after, false); err != nil {
		t.Fatal(err)
	}
	want := append(append(sent, small), big, after)
	for i, w := range want {
		got := recvMessage(t, b, a, time.Now().Add(5*time.Second))
		if !bytes.Equal(got, w) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(got), len(w))
		}
	}
	a.writer.Wait()
	if g := a.gate.Load(); g != 0 {
		t.Fatalf("gate %#x, want 0", g)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.held) != 0 {
		t.Fatalf("%d held left", len(a.held))
	}
}
