package pipesock_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mphost/mphost/internal/pipesock"
)

// Two ends of a pipe in one process: a small message goes straight into
// the socket; a large one goes to the backlog and is held, and the reader
// takes it from the sender's Conn (in mphost, from the host).
func Example() {
	fa, fb, err := pipesock.Pair()
	if err != nil {
		panic(err)
	}
	a, _ := pipesock.Open(fa, new(atomic.Uint64))
	b, _ := pipesock.Open(fb, new(atomic.Uint64))
	defer a.Close()
	defer b.Close()

	sent, _ := a.TrySend([]byte("ping"))
	fmt.Println("sent straight into the socket:", sent)
	a.Send(context.Background(), []byte(strings.Repeat("x", 2*pipesock.Inline)))

	for range 2 {
		msg, held, err := b.Recv(context.Background(), time.Now().Add(5*time.Second))
		if err != nil {
			panic(err)
		}
		if held != 0 {
			msg, _ = a.Take(held)
			fmt.Println("held by the sender:", len(msg), "bytes")
			continue
		}
		fmt.Printf("received %q\n", msg)
	}
	a.Shut()
	_, _, err = b.Recv(context.Background(), time.Time{})
	fmt.Println("after the sender's end is shut:", err)
	// Output:
	// sent straight into the socket: true
	// received "ping"
	// held by the sender: 65536 bytes
	// after the sender's end is shut: the pipe is closed
}
