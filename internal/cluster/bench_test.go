package cluster

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkTaskSerial is the round trip of one trivial task at a time: Submit, a worker takes
// it and publishes its result, Next returns it.
func BenchmarkTaskSerial(b *testing.B) {
	s := startServer(b)
	c := connect(b, s.URL())
	startWorker(b, connect(b, s.URL()), WorkerConfig{Slots: 1, Run: echo("w")})
	r := newRun(b, c, RunConfig{InFlight: 1})
	ctx := context.Background()
	payload := []byte("x")
	for b.Loop() {
		if _, err := r.Submit(ctx, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTaskPipelined is the cost of a trivial task with 64 in flight on two workers of 4
// slots: the per-task overhead when the pool keeps the cluster busy.
func BenchmarkTaskPipelined(b *testing.B) {
	s := startServer(b)
	c := connect(b, s.URL())
	for range 2 {
		startWorker(b, connect(b, s.URL()), WorkerConfig{Slots: 4, Run: echo("w")})
	}
	r := newRun(b, c, RunConfig{InFlight: 64})
	ctx := context.Background()
	b.ResetTimer()
	go func() {
		for range b.N {
			if _, err := r.Submit(ctx, []byte("x")); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for range b.N {
		if _, err := r.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorPublish is the floor: one JetStream publish to a file stream and its ack.
func BenchmarkFloorPublish(b *testing.B) {
	s := startServer(b)
	c := connect(b, s.URL())
	ctx := context.Background()
	if _, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor"},
		Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	payload := []byte("x")
	for b.Loop() {
		if _, err := c.js.Publish(ctx, "floor", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// floorStream makes the stream of the floor benchmarks on a new server.
func floorStream(b *testing.B) (*Conn, jetstream.Stream) {
	s := startServer(b)
	c := connect(b, s.URL())
	stream, err := c.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		b.Fatal(err)
	}
	return c, stream
}

// BenchmarkFloorPublishAsync is the floor with publishes in flight: JetStream publishes to a
// file stream, up to 256 awaiting their acks.
func BenchmarkFloorPublishAsync(b *testing.B) {
	c, _ := floorStream(b)
	js, err := jetstream.New(c.nc, jetstream.WithPublishAsyncMaxPending(256))
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte("x")
	for b.Loop() {
		if _, err := js.PublishAsync("floor", payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(bound):
		b.Fatal("the publishes' acks did not come")
	}
}

// BenchmarkFloorTakeAck is the other half of a task's floor: a worker's pull of a message of a
// work-queue stream and its ack, in batches of 100.
func BenchmarkFloorTakeAck(b *testing.B) {
	c, stream := floorStream(b)
	js, err := jetstream.New(c.nc, jetstream.WithPublishAsyncMaxPending(256))
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, err := js.PublishAsync("floor", []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	ctx := context.Background()
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "take", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for taken := 0; taken < b.N; {
		batch, err := cons.Fetch(min(100, b.N-taken), jetstream.FetchMaxWait(bound))
		if err != nil {
			b.Fatal(err)
		}
		for msg := range batch.Messages() {
			if err := msg.Ack(); err != nil {
				b.Fatal(err)
			}
			taken++
		}
		if err := batch.Error(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMap is one map of the wiring phase's goal: 10 000 trivial items in chunks of 100,
// so 100 tasks of about 1 KB (and results as large), on two workers of one slot in this
// process; one op is the whole map, from the first Submit to the last result. InFlight is the
// pool's bound on the tasks out: 2 as a Pool(2) would, or more to cover the round trips.
func BenchmarkMap(b *testing.B) {
	const tasks, size = 100, 1 << 10
	for _, inFlight := range []int{2, 8} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			s := startServer(b)
			c := connect(b, s.URL())
			for range 2 {
				startWorker(b, connect(b, s.URL()), WorkerConfig{Slots: 1,
					Run: func(_ context.Context, t Task) ([]byte, error) { return t.Payload, nil }})
			}
			r := newRun(b, c, RunConfig{InFlight: inFlight})
			ctx := context.Background()
			payload := bytes.Repeat([]byte("x"), size)
			for b.Loop() {
				submitted := make(chan error, 1)
				go func() {
					for range tasks {
						if _, err := r.Submit(ctx, payload); err != nil {
							submitted <- err
							return
						}
					}
					submitted <- nil
				}()
				for range tasks {
					res, err := r.Next(ctx)
					if err != nil || res.Err != "" || len(res.Data) != size {
						b.Fatalf("Next: %v %q, %d bytes", err, res.Err, len(res.Data))
					}
				}
				if err := <-submitted; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
