package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// A closure goes from the run's VM to a worker's as bytecode references: the worker's VM
// fetches the chunk's source from the run and runs the closure with its upvalue; a closure the
// worker's VM makes from a chunk of its own comes back, its chunk published to the run.
func TestClosureChunksFromTheRun(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	main := vm.New(vm.Options{Stdout: io.Discard, Stderr: io.Discard})
	defer main.Close()
	fn, err := main.Load(vm.Chunk{Name: "job.lua", Source: "local k = 10\nreturn function(x) return x * k end\n"})
	if err != nil {
		t.Fatal(err)
	}
	closure, err := main.Call(fn)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := main.Encode("fn", closure[0])
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, c, RunConfig{InFlight: 1, Chunks: main.Chunks()})
	wc := connect(t, s.URL())
	startWorker(t, wc, WorkerConfig{Slots: 1, Run: func(_ context.Context, tk Task) ([]byte, error) {
		w := vm.New(vm.Options{Chunks: vm.NewChunks(wc.RunChunks(tk.Run)), Stdout: io.Discard, Stderr: io.Discard})
		defer w.Close()
		f, err := w.Decode(tk.Payload)
		if err != nil {
			return nil, err
		}
		product, err := w.Call(f, lua.LNumber(4))
		if err != nil {
			return nil, err
		}
		made, err := w.Load(vm.Chunk{Name: "worker.lua", Source: "return function() return 'made on the worker' end\n"})
		if err != nil {
			return nil, err
		}
		back, err := w.Call(made)
		if err != nil {
			return nil, err
		}
		result := w.L.NewTable()
		result.Append(product[0])
		result.Append(back[0])
		return w.Encode("result", result)
	}})
	submit(t, r, string(payload))
	res := next(t, r)
	if res.Err != "" {
		t.Fatalf("the task failed: %s", res.Err)
	}
	v, err := main.Decode(res.Data)
	if err != nil {
		t.Fatalf("decoding the result in the run's VM: %v", err)
	}
	result := v.(*lua.LTable)
	if got := result.RawGetInt(1); got != lua.LNumber(40) {
		t.Errorf("the closure gave %v on the worker, want 40", got)
	}
	said, err := main.Call(result.RawGetInt(2))
	if err != nil || len(said) != 1 || said[0].String() != "made on the worker" {
		t.Errorf("the worker's closure in the run: %v, %v", said, err)
	}
}

// A run that serves no chunks, or has ended, is said to be so; an unknown chunk is named.
func TestRunChunksErrors(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	wc := connect(t, s.URL())
	wc.askWait = time.Second // a run that does not answer is asked again within it
	var id vm.ChunkID
	plain := newRun(t, c, RunConfig{InFlight: 1})
	if _, err := wc.RunChunks(plain.ID()).Fetch(id); err == nil || !strings.Contains(err.Error(), "does not answer for its chunks") {
		t.Errorf("Fetch from a run without Chunks: %v", err)
	}
	serving := newRun(t, c, RunConfig{InFlight: 1, Chunks: vm.NewChunks(nil)})
	if _, err := wc.RunChunks(serving.ID()).Fetch(id); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("unknown chunk %s", id)) {
		t.Errorf("Fetch of an unknown chunk: %v", err)
	}
	chunk := vm.Chunk{Name: "w.lua", Source: "return 1"}
	if err := wc.RunChunks(serving.ID()).Publish(chunk); err != nil {
		t.Fatal(err)
	}
	if got, err := wc.RunChunks(serving.ID()).Fetch(chunk.ID()); err != nil || got != chunk {
		t.Errorf("Fetch of a published chunk: %+v, %v", got, err)
	}
	if err := serving.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.RunChunks(serving.ID()).Fetch(chunk.ID()); err == nil || !strings.Contains(err.Error(), "it has ended") {
		t.Errorf("Fetch from a closed run: %v", err)
	}
}
