package cluster

import (
	"context"
	"testing"

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
