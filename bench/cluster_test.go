package bench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mphost/mphost/cluster"
	icluster "github.com/mphost/mphost/internal/cluster"
)

// BenchmarkCluster: in one run, on a server embedded in the benchmark with real `mphost
// cluster worker` processes of --processes 1 each, two comparisons. The pi estimate
// (workloads/pi_pool.lua, Pool(2), 8 chunks) with `mphost run --cluster` on one worker, then
// on two: the goal is a speedup of at least 1.8; beside it, the speedup of a local Pool(2) over
// Pool(1), what this machine gives at the time. A map of 10 000 trivial items with chunksize
// 100 (workloads/cluster_map.lua, Pool(2): 100 tasks) on the two workers, against the same
// script on a local Pool(2): the goal is at least half its throughput. Beside the cluster's
// time per task are the engine's round trip (one task at a time from Submit to Next, through a
// worker in this process that runs nothing) and the floor, one JetStream publish to a file
// stream of the same server and its ack.
func BenchmarkCluster(b *testing.B) {
	mphost := mphostBinary(b)
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	url := srv.URL()
	onCluster := []string{mphost, "run", "--cluster", url}

	var pi1, pi2, piLocal1, piLocal2, mapCluster, mapLocal []float64
	for b.Loop() {
		stop1 := startClusterWorker(b, mphost, url)
		pi1 = append(pi1, runWorkload(b, append(onCluster, "pi_pool.lua"), 2, []string{"2"}))
		stop2 := startClusterWorker(b, mphost, url)
		pi2 = append(pi2, runWorkload(b, append(onCluster, "pi_pool.lua"), 2, []string{"2"}))
		mapCluster = append(mapCluster, runWorkload(b, append(onCluster, "cluster_map.lua"), 5, nil))
		mapLocal = append(mapLocal, runWorkload(b, []string{mphost, "run", "cluster_map.lua"}, 5, nil))
		piLocal1 = append(piLocal1, runWorkload(b, []string{mphost, "run", "pi_pool.lua"}, 2, []string{"1"}))
		piLocal2 = append(piLocal2, runWorkload(b, []string{mphost, "run", "pi_pool.lua"}, 2, []string{"2"}))
		stop2()
		stop1()
	}
	floor := publishFloor(b, url, 2000)
	trip := engineRoundTrip(b, url, 500)

	speedup := median(pi1) / median(pi2)
	share := median(mapLocal) / median(mapCluster)
	perTask := median(mapCluster) / 100
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(speedup, "pi-speedup")
	b.ReportMetric(share, "map-throughput-share")
	b.ReportMetric(perTask*1e6, "cluster-µs/task")
	b.ReportMetric(trip*1e6, "engine-µs/roundtrip")
	b.ReportMetric(floor*1e6, "floor-µs/publish")
	b.Logf("pi on one worker %s, on two %s: speedup %.2f (goal >= 1.8); local Pool(1) %s, Pool(2) %s: %.2f",
		spread(pi1), spread(pi2), speedup, spread(piLocal1), spread(piLocal2), median(piLocal1)/median(piLocal2))
	b.Logf("map of 10 000 items, chunksize 100: cluster %s, local Pool(2) %s: %.2f of the local throughput (goal >= 0.5)",
		spread(mapCluster), spread(mapLocal), share)
	b.Logf("per task on the cluster %.0f µs (Pool(2): two in flight); the engine's round trip of one task %.0f µs; floor: a JetStream publish and its ack %.0f µs",
		perTask*1e6, trip*1e6, floor*1e6)
}

// startClusterWorker starts `mphost cluster worker url --processes 1` and returns once it
// says it takes tasks; the function it returns stops it with SIGTERM and waits for its exit.
func startClusterWorker(b *testing.B, mphost, url string) (stop func()) {
	b.Helper()
	cmd := exec.Command(mphost, "cluster", "worker", url, "--processes", "1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ready := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		lines := bufio.NewScanner(stderr)
		for said := false; lines.Scan(); {
			if !said && strings.Contains(lines.Text(), "taking tasks") {
				said = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(runTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatalf("the cluster worker did not say it takes tasks within %v", runTimeout)
	}
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-drained
		if err := cmd.Wait(); err != nil {
			b.Errorf("cluster worker: %v", err)
		}
	}
}

// publishFloor returns the mean seconds of one JetStream publish to a file stream of the
// server at url and its ack, over n publishes one after the other.
func publishFloor(b *testing.B, url string, n int) float64 {
	b.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy}); err != nil {
		b.Fatal(err)
	}
	payload := []byte("x")
	start := time.Now()
	for range n {
		if _, err := js.Publish(ctx, "floor", payload); err != nil {
			b.Fatal(fmt.Errorf("floor: %w", err))
		}
	}
	return time.Since(start).Seconds() / float64(n)
}

// engineRoundTrip returns the mean seconds of one task's round trip through the cluster engine
// alone, one task at a time over n: Submit, a worker in this process takes it and gives its
// payload back with no process or Lua, Next returns the result.
func engineRoundTrip(b *testing.B, url string, n int) float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	wc, err := icluster.Connect(url, icluster.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer wc.Close()
	w, err := icluster.NewWorker(ctx, wc, icluster.WorkerConfig{Slots: 1,
		Run: func(_ context.Context, t icluster.Task) ([]byte, error) { return t.Payload, nil }})
	if err != nil {
		b.Fatal(err)
	}
	working := make(chan error, 1)
	go func() { working <- w.Work(ctx) }()
	defer func() {
		w.Stop()
		if err := <-working; err != nil {
			b.Errorf("engine worker: %v", err)
		}
	}()
	rc, err := icluster.Connect(url, icluster.ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	r, err := icluster.NewRun(ctx, rc, icluster.RunConfig{InFlight: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(ctx)
	payload := []byte("x")
	start := time.Now()
	for range n {
		if _, err := r.Submit(ctx, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start).Seconds() / float64(n)
}
