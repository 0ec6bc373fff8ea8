package host

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/pipesock"
)

// A child killed in the middle of a send that its socket could not take
// has counted the message on the end's gate, and its relay never reaches the
// host. The host takes it off the gate when the child is gone (the child's
// tally says how many it counted and did not hand over), even while another
// process that has the end's socket lives on: otherwise the gate would stay
// above 0, and every later send of every process on that end would go
// through the host. (The sleeps vary where the kill falls.)
func TestKilledSenderLeavesNoCountOnTheGate(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	defer h.Close()
	done := make(chan error, 1)
	go func() {
		done <- runScript(t, h, `
		local mp = require("mp")
		local drained, checked = mp.Event(), mp.Event() -- objects 1 and 2
		local big = string.rep("x", 3000000)
		for round = 1, 10 do
			local a, b = mp.Pipe()
			local other = mp.Process{target = function() b:poll() checked:wait(60) end}
			other:start()
			local p = mp.Process{target = function() while true do b:send(big) end end}
			p:start()
			mp.sleep(0.1 + round * 0.013)
			p:kill(); p:join()
			while a:poll(0.3) do a:recv() end
		end
		drained:set()
		checked:wait(60)`)
	}()
	event := func(id uint64) *objects.Event {
		deadline := time.Now().Add(10 * time.Second)
		for {
			e, err := objects.Lookup[*objects.Event](h.objects, id)
			if err == nil {
				return e
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Event %d after 10s: %v", id, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	drained := make(chan bool, 1)
	go func() {
		ok, _ := event(1).Wait(context.Background(), objects.WaitUpTo(60*time.Second))
		drained <- ok
	}()
	select {
	case ok := <-drained:
		if !ok {
			t.Fatal("the script did not get through its rounds in 60s")
		}
	case err := <-done:
		t.Fatalf("the script ended before it got through its rounds: %v", err)
	}
	defer event(2).Set() // also when a check fails: the other processes end
	stuck := 0
	for id := uint64(3); id < 100; id++ {
		e, err := objects.Lookup[*objects.PipeEnd](h.objects, id)
		if err != nil {
			continue
		}
		if g := h.values.Word(id).Load(); g&^(pipesock.Closed|pipesock.PeerClosed) != 0 {
			stuck++
			t.Logf("pipe end %d (writable %v): gate %d with nothing left to write", id, e.Writable(), g&^(pipesock.Closed|pipesock.PeerClosed))
		}
	}
	if stuck > 0 {
		t.Errorf("%d of 10 ends' gates stay counted after their sender was killed", stuck)
	}
	event(2).Set()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Without shared memory (h.values nil) for the gates, children send and
// receive through the host.
func TestPipesWithoutSharedMemory(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	h.values = nil
	defer h.Close()
	err := runScript(t, h, `
		local mp = require("mp")
		local a, b = mp.Pipe()
		local p = mp.Process{target = function()
			for i = 1, 500 do b:send(i) end
			b:send(string.rep("L", 100000))
			print("child got", a:poll(), #b:recv())
			a:close() -- the main script's close then closes a for every process
			print("child poll", b:poll(0.01))
			print("child", b:recv())
		end}
		p:start()
		local ok = true
		for i = 1, 500 do if a:recv() ~= i then ok = false end end
		print("main in order", ok, #a:recv())
		a:send(string.rep("M", 50000))
		p:join(1)
		a:close()
		p:join()
		print("exit", p.exitcode)`)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	got := out.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", got, errOut.String())
	for _, want := range []string{"main in order\ttrue\t100000", "child got", "50000", "child\tnil\tclosed", "exit\t0"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
}

// A run that leaves pipes with unread backlogs (small and held messages,
// sent by the main script and by children) lets go of every socket and
// every backlog writer at Close.
func TestCloseLeavesNoPipeLeaks(t *testing.T) {
	before := openFiles(t)
	gBefore := runtime.NumGoroutine()
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	err := runScript(t, h, `
		local mp = require("mp")
		local keep = {}
		local big = string.rep("x", 200000)
		for i = 1, 20 do
			local a, b = mp.Pipe()
			keep[#keep+1] = a; keep[#keep+1] = b
			for j = 1, 50 do a:send(string.rep("s", 1000)) end
			for j = 1, 5 do a:send(big) end
			local p = mp.Process{target = function()
				for j = 1, 50 do b:send(string.rep("c", 1000)) end
				for j = 1, 5 do b:send(big) end
				a:poll() -- the child has a's socket too
			end}
			p:start(); p:join()
		end
		-- half closed: one end closed, the other with a backlog nobody reads
		for i = 1, 10 do
			local a, b = mp.Pipe()
			for j = 1, 300 do a:send(string.rep("h", 1000)) end
			b:close()
			local c, d = mp.Pipe()
			for j = 1, 300 do c:send(string.rep("h", 1000)) end
			c:close()
		end
		print("done")`)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	h.Close()
	t.Logf("Close took %v; stdout %q stderr %q", time.Since(t0), out.String(), errOut.String())
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && runtime.NumGoroutine() > gBefore+2 {
		time.Sleep(20 * time.Millisecond)
	}
	if now := openFiles(t); now > before {
		t.Errorf("%d file descriptors open after Close, %d before", now, before)
	}
	if g := runtime.NumGoroutine(); g > gBefore+2 {
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("%d goroutines after Close, %d before:\n%s", g, gBefore, b.String())
	}
}
