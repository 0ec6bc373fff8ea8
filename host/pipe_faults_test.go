package host

import (
	"strings"
	"testing"

	"github.com/mphost/mphost/host/objects"
	"github.com/mphost/mphost/plugins/pipesock"
)

// A child killed in the middle of a send that its socket could not take
// has counted the message on the gate, and its relay never reaches the host.
// Once no child has the socket, the host counts the gate again: otherwise it
// would stay above 0 for good, and every later send of every process on that
// end would go through the host. (The sleeps vary where the kill falls.)
func TestKilledSenderLeavesNoCountOnTheGate(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	defer h.Close()
	err := runScript(t, h, `
		local mp = require("mp")
		local big = string.rep("x", 3000000)
		for round = 1, 10 do
			local a, b = mp.Pipe()
			local p = mp.Process{target = function() while true do b:send(big) end end}
			p:start()
			mp.sleep(0.1 + round * 0.013)
			p:kill(); p:join()
			while a:poll(0.3) do a:recv() end
		end`)
	if err != nil {
		t.Fatal(err)
	}
	stuck := 0
	for id := uint64(1); id < 100; id++ {
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
