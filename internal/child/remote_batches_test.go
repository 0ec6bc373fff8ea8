package child

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/vm"
)

// checkingHost checks that every item it stores is whole: all its bytes equal.
type checkingHost struct {
	mu    sync.Mutex
	bad   []string
	items atomic.Int64
}

func (h *checkingHost) Invoke(ctx context.Context, c *pb.ObjectCall) (*pb.ObjectReply, error) {
	return &pb.ObjectReply{Ok: true}, nil
}

func (h *checkingHost) PutBatch(ctx context.Context, req *pb.PutBatchRequest) (*pb.PutBatchReply, error) {
	for _, it := range req.Items {
		for _, c := range it.Data {
			if c != it.Data[0] {
				h.mu.Lock()
				h.bad = append(h.bad, fmt.Sprintf("queue %d: item of %d bytes mixes %q and %q", it.QueueId, len(it.Data), it.Data[0], c))
				h.mu.Unlock()
				break
			}
		}
	}
	h.items.Add(int64(len(req.Items)))
	return &pb.PutBatchReply{}, nil
}

// Processes one after another in a child, each a Remote of its own on the
// same CallClient, End racing the 2 ms flush timer: every item arrives whole.
func TestBatchBuffersAcrossProcesses(t *testing.T) {
	h := &checkingHost{}
	sock := serveCalls(t, h)
	cc := NewCallClient(sock.child)
	rng := rand.New(rand.NewSource(1))
	var want int64
	for p := 0; p < 200; p++ {
		// The bound is per process, so that a loaded machine's slowness
		// over 200 of them does not add up to a failure; a lost frame
		// still fails within it.
		sock.child.SetDeadline(time.Now().Add(30 * time.Second))
		r := &Remote{calls: cc}
		r.puts.unbounded = map[uint64]bool{1: true}
		n := 1 + rng.Intn(40)
		for i := 0; i < n; i++ {
			size := 1 + rng.Intn(60000)
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(p*7 + i)
			}
			if _, err := r.Invoke(context.Background(), vm.ObjectCall{ID: 1, Op: ops.QueuePut, Value: vm.Value{Data: data}}); err != nil {
				t.Fatal(err)
			}
			want++
			if rng.Intn(8) == 0 {
				time.Sleep(time.Duration(rng.Intn(3000)) * time.Microsecond)
			}
		}
		time.Sleep(time.Duration(1500+rng.Intn(1000)) * time.Microsecond) // the timer fires about now
		if err := r.End(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cc.Settle(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bad) > 0 {
		t.Fatalf("%d bad items, first: %s", len(h.bad), h.bad[0])
	}
	if got := h.items.Load(); got != want {
		t.Fatalf("%d items stored, want %d", got, want)
	}
}
