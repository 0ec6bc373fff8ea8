package cluster

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cutProxy forwards TCP connections to a server until it is cut; then it drops every byte
// either way without closing anything, as a network cut does: neither end hears of it.
type cutProxy struct {
	ln  net.Listener
	cut atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
}

// startProxy listens on a free port of 127.0.0.1 and forwards to addr until the test ends.
func startProxy(t *testing.T, addr string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", addr)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go p.forward(out, in)
			go p.forward(in, out)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// forward copies from src to dst until src ends, dropping what comes once the proxy is cut.
func (p *cutProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.cut.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A worker cut off from the server in the middle of a task (no close, no reset: its bytes
// stop) costs the task its ack wait: the task goes to another worker, and the run gets one
// result.
func TestWorkerCutOff(t *testing.T) {
	s := startServer(t)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	cutOff := connect(t, u.String())
	const ackWait = time.Second
	cutOff.ackWait = ackWait // it makes the workers' consumer
	started := make(chan struct{}, 1)
	startWorker(t, cutOff, WorkerConfig{Name: "cut off", Slots: 1, Run: func(ctx context.Context, _ Task) ([]byte, error) {
		started <- struct{}{}
		<-ctx.Done() // until the test ends: its result could not reach the run anyway
		return nil, ctx.Err()
	}})
	r := newRun(t, connect(t, s.URL()), RunConfig{InFlight: 1})
	id := submit(t, r, "x")
	select {
	case <-started:
	case <-time.After(bound):
		t.Fatal("the worker behind the proxy took no task")
	}
	proxy.cut.Store(true)
	cutAt := time.Now()
	deliveries := make(chan int, 4)
	startWorker(t, connect(t, s.URL()), WorkerConfig{Name: "heir", Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		deliveries <- tk.Delivery
		return tk.Payload, nil
	}})
	res := next(t, r)
	if res.Task != id || res.Worker != "heir" || string(res.Data) != "x" {
		t.Errorf("result %+v, want task %d from heir", res, id)
	}
	if d := <-deliveries; d != 2 {
		t.Errorf("the heir got delivery %d, want 2", d)
	}
	if took := time.Since(cutAt); took > 10*ackWait {
		t.Errorf("the task came back %v after the cut, ack wait %v", took, ackWait)
	}
}
