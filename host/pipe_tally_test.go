package host

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/pipesock"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
)

const gateFlags = pipesock.Closed | pipesock.PeerClosed

// A process that asks twice for the same end's socket is told the same
// tally both times, the one the host takes from: at its death nothing is
// left on the gate.
func TestOpenTwiceKeepsOneTally(t *testing.T) {
	h := New(Options{})
	defer h.Close()
	if h.values == nil {
		t.Skip("no shared memory")
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[1])
	ids, err := h.newObject(1, "Connection", vm.ObjectArgs{Duplex: true})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := objects.Lookup[*objects.PipeEnd](h.objects, ids[0])
	b, _ := objects.Lookup[*objects.PipeEnd](h.objects, ids[1])
	const P objects.Owner = 7
	svc := &service{h: h, childProc: &childProc{files: fds[0]}}
	r1, err := h.invoke(context.Background(), P, vm.ObjectCall{ID: ids[1], Op: ops.TransportOpen}, svc)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := h.invoke(context.Background(), P, vm.ObjectCall{ID: ids[1], Op: ops.TransportOpen}, svc)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Tally != r2.Tally {
		t.Errorf("first open: tally id %d; second open: tally id %d; want the same", r1.Tally, r2.Tally)
	}
	gate := h.values.Word(ids[1])
	tally := h.values.Word(r2.Tally) // what the child was told last
	for i := 0; i < 3; i++ {
		gate.Add(1) // sendOnPipe: Count, then tally.Add(1), then post "relay"
		tally.Add(1)
		if err := b.Relay(context.Background(), P, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Recv(context.Background(), P, objects.WaitUpTo(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("before death: gate %#x, kept tally %#x, told tally %#x", gate.Load(),
		h.values.Word(r1.Tally).Load(), tally.Load())
	h.objects.Died(P)
	if g := gate.Load(); g&^gateFlags != 0 {
		t.Errorf("gate %#x after every relayed message was written and the sender died, want 0", g)
	}
}

// When the ids run past slots.Count, a child's open gets no tally:
// the host refuses the socket (ErrNotShared) and the child sends through the
// host. Its messages must all arrive, in order.
func TestPipeWithoutTallySlots(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	defer h.Close()
	if h.values == nil {
		t.Skip("no shared memory")
	}
	for h.objects.Len() < slots.Count-3 {
		h.objects.Add(struct{}{})
	}
	err := runScript(t, h, `
		local mp = require("mp")
		local a, b = mp.Pipe() -- the last two ids with a slot
		local p = mp.Process{target = function()
			for i = 1, 200 do b:send(i) end
			for i = 1, 30 do b:send(string.rep("z", 20000 + i)) end
			b:send(string.rep("y", 100000))
			assert(b:recv() == "ack")
		end}
		p:start()
		for i = 1, 200 do assert(a:recv() == i) end
		for i = 1, 30 do assert(#a:recv() == 20000 + i) end
		assert(#a:recv() == 100000)
		a:send("ack")
		p:join()
		assert(p.exitcode == 0, "exit " .. tostring(p.exitcode))
		print("ok")`)
	if err != nil || strings.TrimSpace(out.String()) != "ok" {
		h.Close()
		t.Fatalf("err %v; stdout %q stderr %q", err, out.String(), errOut.String())
	}
	// Every object made past the pipe (its tallies) has no slot.
	n := 0
	for id := uint64(slots.Count - 2); id < slots.Count+10; id++ {
		if _, err := objects.Lookup[pipeTally](h.objects, id); err == nil {
			n++
			if id < slots.Count {
				t.Errorf("tally %d has a slot", id)
			}
		}
	}
	t.Logf("%d tally ids made past slots.Count", n)
}
