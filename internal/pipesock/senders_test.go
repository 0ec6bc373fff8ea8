package pipesock

import (
	"context"
	"encoding/binary"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Several "children" send on one end through dups of the host's socket, as
// sendOnPipe does; their relays run on a goroutine each (a child's call
// server). Each sender's messages must arrive in its order.
func TestManySendersKeepOrder(t *testing.T) {
	fa, fb, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	var gate atomic.Uint64
	host, _ := Open(fa, &gate)
	reader, _ := Open(fb, new(atomic.Uint64))
	defer host.Close()
	defer reader.Close()
	const senders, per = 4, 3000
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		fd, err := unix.Dup(int(fa.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := Open(os.NewFile(uintptr(fd), "dup"), &gate)
		relay := make(chan []byte, 1<<16)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for m := range relay {
				if err := host.Enqueue(bg, m, true); err != nil {
					t.Error(err)
				}
			}
		}()
		go func(s int) {
			defer wg.Done()
			defer close(relay)
			defer c.Close()
			r := rand.New(rand.NewSource(int64(s)))
			for i := 0; i < per; i++ {
				size := 16
				switch r.Intn(20) {
				case 0:
					size = 40000
				case 1, 2:
					size = 20000
				}
				m := make([]byte, size)
				binary.BigEndian.PutUint32(m, uint32(s))
				binary.BigEndian.PutUint32(m[4:], uint32(i))
				if c.Direct(len(m)) {
					sent, err := c.TrySend(m)
					if err != nil {
						t.Error(err)
						return
					}
					if sent {
						continue
					}
				}
				c.Count()
				relay <- m
			}
		}(s)
	}
	next := make([]uint32, senders)
	bad := 0
	for got := 0; got < senders*per; got++ {
		if got%500 == 0 { // a slower reader: the socket fills, and senders relay
			time.Sleep(time.Millisecond)
		}
		msg, held, err := reader.Recv(context.Background(), time.Now().Add(10*time.Second))
		if err != nil {
			t.Fatalf("after %d: %v", got, err)
		}
		if held != 0 {
			var ok bool
			if msg, ok = host.Take(held); !ok {
				t.Fatalf("held %d gone", held)
			}
		}
		s, i := binary.BigEndian.Uint32(msg), binary.BigEndian.Uint32(msg[4:])
		if i != next[s] {
			bad++
			if bad < 5 {
				t.Errorf("sender %d: got %d, want %d", s, i, next[s])
			}
		}
		next[s] = i + 1
	}
	wg.Wait()
	// The host's writer takes a message off the gate after its write, so
	// the reader may have the last message a moment before the gate is 0.
	for end := time.Now().Add(10 * time.Second); gate.Load() != 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if g := gate.Load(); g != 0 {
		t.Errorf("gate %d after all", g)
	}
	if bad > 0 {
		t.Errorf("%d out of order", bad)
	}
}
