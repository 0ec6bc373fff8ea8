package host_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mphost/mphost/cluster"
	"github.com/mphost/mphost/host"
)

// lineWatch is a Stderr that sends each whole line holding want on lines.
type lineWatch struct {
	want  string
	lines chan string

	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // a line begun, not ended
			return len(p), nil
		}
		if strings.Contains(line, w.want) {
			select {
			case w.lines <- line:
			default:
			}
		}
	}
}

// A run whose tasks no worker takes says so on stderr once they have waited
// Options.ClusterIdleAfter, naming the cluster without its token, and goes on waiting.
func TestClusterIdleNotice(t *testing.T) {
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Token: "sesame"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	stderr := &lineWatch{want: "no worker taking them", lines: make(chan string, 1)}
	h := host.New(host.Options{Cluster: srv.URL(), ClusterIdleAfter: 200 * time.Millisecond, Stderr: stderr})
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := h.RunString(ctx, "job.lua", `
			local mp = require("mp")
			local pool = mp.Pool(2)
			pool:map_async(function(x) return x end, {1, 2, 3}, 1):wait()
		`)
		ran <- err
	}()
	var line string
	select {
	case line = <-stderr.lines:
	case err := <-ran:
		t.Fatalf("the run ended first: %v", err)
	case <-ctx.Done():
		t.Fatal("no line saying that no worker takes the tasks within 2 minutes")
	}
	addr := strings.TrimPrefix(srv.URL(), "nats://sesame@")
	m := regexp.MustCompile(`^mphost: 2 task\(s\) have waited (\S+) on the cluster nats://` + regexp.QuoteMeta(addr) +
		` with no worker taking them\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stderr line %q, want it to say that 2 tasks have waited on nats://%s", line, addr)
	}
	// It came after ClusterIdleAfter, not after the 10 s of a run that has not set it.
	if waited, err := time.ParseDuration(m[1]); err != nil || waited < 200*time.Millisecond || waited >= 10*time.Second {
		t.Errorf("the tasks have waited %s, want ClusterIdleAfter (200ms) or a little more", m[1])
	}
	select {
	case err := <-ran:
		t.Fatalf("the run ended after the notice: %v", err)
	default:
	}
	cancel()
	var stopped *host.StoppedError
	if err := <-ran; !errors.As(err, &stopped) {
		t.Errorf("the run cancelled: %v, want a StoppedError", err)
	}
}

// A Go program serves a cluster, joins it as a worker of one process, and
// runs a script whose Pool sends its tasks to that worker: Options.Cluster is
// `mphost run --cluster`, NewClusterWorker `mphost cluster worker`.
func ExampleOptions_cluster() {
	dir, err := os.MkdirTemp("", "cluster")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	ctx := context.Background()
	w, err := host.NewClusterWorker(ctx, srv.URL(), host.ClusterWorkerOptions{Processes: 1})
	if err != nil {
		log.Fatal(err)
	}
	worked := make(chan error, 1)
	go func() { worked <- w.Work(ctx) }()

	h := host.New(host.Options{Cluster: srv.URL()})
	res, err := h.RunString(ctx, "job.lua", `
		local mp = require("mp")
		local k = 10
		local pool = mp.Pool(2)
		local got = pool:map(function(x) return x * k end, {1, 2, 3})
		pool:close()
		pool:join()
		return got
	`)
	h.Close()
	fmt.Println(res, err)

	w.Stop()
	fmt.Println(<-worked, w.Close())
	// Output:
	// [[10 20 30]] <nil>
	// <nil> <nil>
}

// startClusterWorker serves a cluster and joins it with a ClusterWorker of processes
// processes; it returns the cluster's URL. The test's cleanup stops both.
func startClusterWorker(t *testing.T, processes int) string {
	t.Helper()
	srv, err := cluster.Serve(cluster.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	w, err := host.NewClusterWorker(context.Background(), srv.URL(), host.ClusterWorkerOptions{Processes: processes})
	if err != nil {
		t.Fatal(err)
	}
	worked := make(chan error, 1)
	go func() { worked <- w.Work(context.Background()) }()
	t.Cleanup(func() {
		w.Stop()
		if err := <-worked; err != nil {
			t.Errorf("Work: %v", err)
		}
		w.Close()
	})
	return srv.URL()
}

// A cluster worker runs the Pools of a run one after another: each new Pool's processes take
// the place of the last one's, whose children are kept for reuse, alive.
func TestClusterPoolsOneAfterAnother(t *testing.T) {
	h := host.New(host.Options{Cluster: startClusterWorker(t, 2)})
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := h.RunString(ctx, "job.lua", `
		local mp = require("mp")
		local got = {}
		for i = 1, 6 do
		  local pool = mp.Pool(1)
		  local ok, v = pcall(pool.apply, pool, function() return i end)
		  got[i] = ok and v or v
		end
		return table.concat(got, " ")
	`)
	if err != nil || len(res) != 1 || res[0] != "1 2 3 4 5 6" {
		t.Errorf("the pools' results: %v, %v; want 1 2 3 4 5 6", res, err)
	}
}
