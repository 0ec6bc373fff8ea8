package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cancelAt is a script's stdout that cancels the run when the script
// prints a line containing "ready".
type cancelAt struct {
	mu       sync.Mutex
	cancel   context.CancelFunc
	canceled time.Time
}

func (c *cancelAt) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bytes.Contains(p, []byte("ready")) && c.canceled.IsZero() {
		c.canceled = time.Now()
		c.cancel()
	}
	return len(p), nil
}

// alive lists the processes of h's table that have not ended, and checks
// their OS processes.
func childPids(h *Host) []int {
	var pids []int
	for _, p := range h.procs.list(func(*process) bool { return true }) {
		pids = append(pids, p.pid)
	}
	return pids
}

func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("child %d still there (%v)", pid, err)
		}
	}
}

// cancelCases are the places a script can be when its run is cancelled:
// each prints "ready" there.
var cancelCases = []struct{ name, src string }{
	{"busy loop", `print("ready") while true do end`},
	{"blocking call", `local q = mp.Queue() print("ready") q:get()`},
	{"joining a child", `
		local p = mp.Process{target = function() while true do end end}
		p:start()
		print("ready")`},
	{"a child's blocking call", `
		local e = mp.Event()
		local p = mp.Process{target = function() print("ready") e:wait() end}
		p:start()
		p:join()`},
	// The child's sleep only makes it likely that the cancel finds the main
	// script asleep in the kernel, where only the cancel wakes it.
	{"waiting for a lock it holds", `
		local l = mp.Lock()
		l:acquire()
		mp.Process{target = function() mp.sleep(0.3) print("ready") end}:start()
		l:acquire()`},
	{"a child waiting for a lock", `
		local l = mp.Lock()
		l:acquire()
		local p = mp.Process{target = function() print("ready") l:acquire() end}
		p:start()
		p:join()`},
}

// cancelRun runs src in h, cancels the run when it prints "ready", and
// returns the run's error and how long after the cancel the run returned.
func cancelRun(tb testing.TB, h *Host, src string) (time.Duration, error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelAt{cancel: cancel}
	h.out.stdout = out
	done := make(chan error, 1)
	go func() {
		_, err := h.RunString(ctx, "job.lua", `local mp = require("mp") `+src)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second): // a bound against a hang
		tb.Fatal("the run still goes on 60 s after it started")
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	return time.Since(out.canceled), err
}

// Cancelling the context stops a run wherever the script is, stops its
// processes, and the error is the context's.
func TestCancelStopsTheRun(t *testing.T) {
	for _, tc := range cancelCases {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Options{Stderr: &syncBuffer{}})
			defer h.Close()
			took, err := cancelRun(t, h, tc.src)
			t.Logf("returned %v after the cancel", took.Round(time.Millisecond))
			var stopped *StoppedError
			if !errors.Is(err, context.Canceled) || !errors.As(err, &stopped) {
				t.Fatalf("err = %v, want a StoppedError that is context.Canceled", err)
			}
			for _, p := range h.procs.list(func(p *process) bool { return !p.ended() }) {
				t.Errorf("process %s still runs after the run returned", p.name)
			}
		})
	}
}

// BenchmarkCancel measures how long a run takes to return once its context
// is cancelled, in each place of cancelCases (the contract: within 1 s).
func BenchmarkCancel(b *testing.B) {
	for _, tc := range cancelCases {
		b.Run(tc.name, func(b *testing.B) {
			h := New(Options{Stderr: &syncBuffer{}})
			defer h.Close()
			var total, worst time.Duration
			for b.Loop() {
				took, err := cancelRun(b, h, tc.src)
				if !errors.Is(err, context.Canceled) {
					b.Fatalf("err = %v, want context.Canceled", err)
				}
				total += took
				worst = max(worst, took)
			}
			b.ReportMetric(0, "ns/op") // an iteration is a whole run: not a figure
			b.ReportMetric(float64(total.Microseconds())/1e3/float64(b.N), "ms-to-return")
			b.ReportMetric(float64(worst.Microseconds())/1e3, "worst-ms")
		})
	}
}

// A deadline reads as one too.
func TestRunTimeout(t *testing.T) {
	h := New(Options{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Timeout: 200 * time.Millisecond})
	defer h.Close()
	_, err := h.RunString(context.Background(), "job.lua", `while true do end`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// Close ends a run's spinning non-daemon child that the run waits for, may
// be called twice, and leaves no child and no run folder.
func TestCloseEndsWhatIsLeft(t *testing.T) {
	h := New(Options{Stderr: &syncBuffer{}})
	ready := make(chan struct{})
	h.out.stdout = writerFunc(func(p []byte) {
		if bytes.Contains(p, []byte("ready")) {
			close(ready)
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := h.RunString(context.Background(), "job.lua", `
			local mp = require("mp")
			mp.Process{target = function() while true do end end}:start()
			mp.Process{target = function() while true do end end, daemon = true}:start()
			print("ready")`)
		done <- err
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the script did not start its processes")
	}
	pids := childPids(h)
	closed := make(chan struct{})
	go func() {
		h.Close()
		h.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(60 * time.Second): // a bound against a hang
		t.Fatal("Close hangs")
	}
	t.Logf("the run returned %v", <-done)
	assertGone(t, pids)
	if dir := h.children.dir; dir != "" {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("run folder %s still there (%v)", dir, err)
		}
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// Hosts side by side count their processes' names each for itself.
func TestHostsNameTheirOwnProcesses(t *testing.T) {
	var outs [2]syncBuffer
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := New(Options{Stdout: &outs[i], Stderr: &outs[i]})
			defer h.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_, err := h.RunString(ctx, "job.lua", `
				local mp = require("mp")
				local p = mp.Process{target = function() print(mp.current_process().name) end}
				p:start() p:join()
				local pool = mp.Pool(1)
				print(pool:apply(function() return mp.current_process().name end))
				pool:close() pool:join()`)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range outs {
		if got := outs[i].String(); got != "Process-1\nPoolWorker-1\n" {
			t.Errorf("host %d printed %q", i, got)
		}
	}
}
