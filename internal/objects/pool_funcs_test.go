package objects

import (
	"strconv"
	"testing"
)

// TestPoolReleasesFunctions checks that a function stays while a batch that took it over is
// not forgotten or a task of it has not finished, even a forgotten batch's task still to run;
// that it then stays idle, with its id, among the idleFunctions most recently used, so that a
// worker that has it is not sent it again; and that it is dropped, and shipped again when
// registered again, once more functions than that have been idle since.
func TestPoolReleasesFunctions(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	f := p.AddFunction([]byte("square"))
	batch, _ := p.NewBatch(f)
	var tasks []uint64
	for _, a := range []string{"2", "3"} {
		id, err := p.Submit(batch, f, []byte(a))
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, id)
	}
	if again := p.AddFunction([]byte("square")); again != f {
		t.Fatalf("the same function, still kept, got ids %d and %d", f, again)
	}
	other, _ := p.NewBatch(f) // a second call with the same function
	first, err := p.Next(bg, 1, DontWait)
	if err != nil || string(first.Func) != "square" {
		t.Fatalf("first task: %+v, %v; want the function shipped with it", first, err)
	}
	p.Forget(batch)
	p.Forget(other)
	if err := p.Done(1, first.ID, []byte("4"), ""); err != nil {
		t.Fatal(err)
	}
	second, err := p.Next(bg, 1, DontWait)
	if err != nil || second.ID != tasks[1] || second.Func != nil {
		t.Fatalf("the forgotten batch's pending task: %+v, %v; want it run, its function not shipped again", second, err)
	}
	if err := p.Done(1, second.ID, []byte("9"), ""); err != nil {
		t.Fatal(err)
	}
	// Idle now: kept, with its id.
	if again := p.AddFunction([]byte("square")); again != f {
		t.Fatalf("an idle function registered again got id %d, want %d", again, f)
	}
	batch, _ = p.NewBatch(f)
	if _, err := p.Submit(batch, f, []byte("4")); err != nil {
		t.Fatal(err)
	}
	if task, err := p.Next(bg, 1, DontWait); err != nil || task.Func != nil {
		t.Fatalf("a task of an idle function registered again: %+v, %v; want it not shipped again", task, err)
	} else if err := p.Done(1, task.ID, []byte("16"), ""); err != nil {
		t.Fatal(err)
	}
	p.Forget(batch)
	// idleFunctions others, used after it: it is dropped.
	for i := range idleFunctions {
		g := p.AddFunction([]byte("f" + strconv.Itoa(i)))
		b, _ := p.NewBatch(g)
		p.Forget(b)
	}
	if _, kept := p.Function(f); kept {
		t.Fatalf("the function was kept with %d functions idle since", idleFunctions)
	}
	p.mu.Lock()
	funcs, ids, shipped := len(p.funcs), len(p.funcIDs), len(p.workers[1].shipped)
	p.mu.Unlock()
	if funcs != idleFunctions || ids != idleFunctions || shipped != 0 {
		t.Fatalf("the pool keeps %d functions, %d by bytes, %d shipped to the worker; want %d, %d, 0", funcs, ids, shipped, idleFunctions, idleFunctions)
	}
	if _, _, inUse := p.Kept(); inUse != 0 {
		t.Fatalf("Kept says %d functions in use, want 0", inUse)
	}
	g := p.AddFunction([]byte("square"))
	batch, _ = p.NewBatch(g)
	if _, err := p.Submit(batch, g, []byte("4")); err != nil {
		t.Fatal(err)
	}
	if task, err := p.Next(bg, 1, DontWait); err != nil || string(task.Func) != "square" {
		t.Fatalf("registered again: %+v, %v; want the function shipped again", task, err)
	}
}

// TestPoolBatchWithoutItsHold: a caller that gives NewBatch a function it took no hold on
// releases one hold too many, so the function may lose its last hold while a task of it is
// pending; the pool must still hand the task out (if the function was dropped, without it: the
// worker then fails it) rather than crash, and count no hold below none.
func TestPoolBatchWithoutItsHold(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	f := p.AddFunction([]byte("square"))
	batch, _ := p.NewBatch(f)
	id, err := p.Submit(batch, f, []byte("2"))
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := p.NewBatch(f) // no AddFunction for it
	p.Forget(wrong)
	p.Forget(batch)
	task, err := p.Next(bg, 1, DontWait)
	if err != nil || task.ID != id {
		t.Fatalf("Next = %+v, %v; want task %d", task, err, id)
	}
	if err := p.Done(1, task.ID, []byte("4"), ""); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	holds := p.funcs[f].holds
	p.mu.Unlock()
	if holds != 0 {
		t.Fatalf("the function has %d holds, want 0", holds)
	}
}

// TestPoolIdleFunctionsBoundedInBytes: idle functions are dropped, oldest first, once they
// hold more than maxIdleBytes, however few they are.
func TestPoolIdleFunctionsBoundedInBytes(t *testing.T) {
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	var ids []uint64
	for i := range 3 {
		big := make([]byte, maxIdleBytes/2)
		big[0] = byte(i)
		f := p.AddFunction(big)
		batch, _ := p.NewBatch(f)
		p.Forget(batch)
		ids = append(ids, f)
	}
	for i, f := range ids {
		_, kept := p.Function(f)
		if want := i > 0; kept != want {
			t.Errorf("function %d of 3 of half of maxIdleBytes each: kept %v, want %v", i+1, kept, want)
		}
	}
	p.mu.Lock()
	idle := p.idleBytes
	p.mu.Unlock()
	if idle != maxIdleBytes {
		t.Errorf("idle bytes %d, want %d", idle, maxIdleBytes)
	}
}
