package objects

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mphost/mphost/internal/slots"
)

// What objects drop without delivering it reaches Registry.OnDrop once per item: the host lets
// go there of the handles the item carries. These tests check, path by path, that the hook
// sees exactly the dropped items.

// dropLog records what a Registry's objects drop.
type dropLog struct {
	mu    sync.Mutex
	items []string
}

// watchDrops returns a new Registry whose drops are logged.
func watchDrops() (*Registry, *dropLog) {
	r, l := NewRegistry(), &dropLog{}
	r.OnDrop(func(data []byte) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.items = append(l.items, string(data))
	})
	return r, l
}

// check fails the test unless the items dropped since the last check are want, in any order,
// each once; an item longer than 16 bytes is named by its first 8 and its length.
func (l *dropLog) check(t *testing.T, what string, want ...string) {
	t.Helper()
	l.mu.Lock()
	got := l.items
	l.items = nil
	l.mu.Unlock()
	name := func(items []string) []string {
		names := make([]string, len(items))
		for i, s := range items {
			names[i] = s
			if len(s) > 16 {
				names[i] = fmt.Sprintf("%s…(%d)", s[:8], len(s))
			}
		}
		slices.Sort(names)
		return names
	}
	if g, w := name(got), name(want); !slices.Equal(g, w) {
		t.Fatalf("%s dropped %q, want %q", what, g, w)
	}
}

func TestQueueDrops(t *testing.T) {
	for _, joinable := range []bool{false, true} {
		t.Run("joinable="+strconv.FormatBool(joinable), func(t *testing.T) {
			r, log := watchDrops()
			var q *Queue
			var obj any
			if joinable {
				jq := NewJoinableQueue(3)
				q, obj = &jq.Queue, jq
			} else {
				q = NewQueue(3)
				obj = q
			}
			id := r.AddHeld(obj, 1)
			for _, item := range []string{"a", "b", "c"} {
				if err := q.Put(bg, 1, []byte(item), DontWait); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Put(bg, 1, []byte("full"), WaitUpTo(shortWait)); !errors.Is(err, ErrFull) {
				t.Fatalf("Put into a full queue = %v, want ErrFull", err)
			}
			log.check(t, "a put into a full queue", "full")
			if err := q.PutBatch(bg, 1, [][]byte{[]byte("big1"), []byte("big2"), []byte("big3"), []byte("big4")}); !errors.Is(err, ErrFull) {
				t.Fatalf("PutBatch larger than maxsize = %v, want ErrFull", err)
			}
			log.check(t, "a batch larger than maxsize", "big1", "big2", "big3", "big4")
			ctx, cancel := cancelled(t)
			put := start(func() result { return result{err: q.Put(ctx, 1, []byte("cancelled"), WaitForever)} })
			eventually(t, "the put waits", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.putters.len() == 1 })
			cancel()
			await(t, put)
			log.check(t, "a cancelled put", "cancelled")
			if item, err := q.Get(bg, DontWait); err != nil || string(item) != "a" {
				t.Fatalf("Get = %q, %v", item, err)
			}
			q.Close()
			if err := q.Put(bg, 1, []byte("late"), DontWait); !errors.Is(err, ErrClosed) {
				t.Fatalf("Put after Close = %v, want ErrClosed", err)
			}
			if err := q.PutBatch(bg, 1, [][]byte{[]byte("late1"), []byte("late2")}); !errors.Is(err, ErrClosed) {
				t.Fatalf("PutBatch after Close = %v, want ErrClosed", err)
			}
			log.check(t, "puts after Close (the closed queue keeps its items)", "late", "late1", "late2")
			r.Adjust(1, []Change{{ID: id, Held: -1}})
			if r.Len() != 0 {
				t.Fatal("the queue nothing holds was not freed")
			}
			log.check(t, "the freed queue", "b", "c")
		})
	}
}

func TestValueDrops(t *testing.T) {
	r, log := watchDrops()
	v := NewValue(EncodedContent([]byte("v1")))
	id := r.AddHeld(v, 1)
	v.Set(EncodedContent([]byte("v2")))
	log.check(t, "a Set over content", "v1")
	v.Set(NumberContent(3))
	log.check(t, "a number over content", "v2")
	v.Set(EncodedContent([]byte("v3")))
	log.check(t, "content over a number")
	r.Adjust(1, []Change{{ID: id, Held: -1}})
	log.check(t, "the freed Value", "v3")

	// A Value whose number lives in a slot: a child's number over the content leaves the
	// content in the host, dropped at the next Set.
	mem, err := slots.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	slot := mem.Slot(5)
	v = NewValue(EncodedContent([]byte("text")))
	id = r.AddHeld(v, 1)
	v.Share(slot)
	slot.Store(10) // a child sets a number
	v.Set(EncodedContent([]byte("again")))
	log.check(t, "a Set after a child's number", "text")
	v.Set(NumberContent(2))
	log.check(t, "a number into the slot", "again")
	r.Adjust(1, []Change{{ID: id, Held: -1}})
	log.check(t, "the freed shared Value")
}

// A pipe end that closes drops what the other end sent it and nobody received: messages in its
// socket, in the other end's backlog in the host, and the large ones the host holds.
func TestPipeDrops(t *testing.T) {
	r, log := watchDrops()
	a, b := newPipe(t, true)
	const owner Owner = 1
	ida, idb := r.AddHeld(a, owner), r.AddHeld(b, owner)
	msg := func(i, size int) string {
		s := fmt.Sprintf("m%03d", i)
		return s + strings.Repeat(".", size-len(s))
	}
	var sent []string
	for i := range 20 { // more than the socket takes: the rest waits in the host
		sent = append(sent, msg(i, 20000))
	}
	sent = append(sent, msg(20, 50000), "small") // one the host holds, one after it
	mustSend(t, b, sent...)
	if held, _ := b.sock.Holding(); held <= 50000 {
		t.Fatalf("the host holds %d bytes of the messages, want a backlog besides the held one", held)
	}
	for _, want := range sent[:2] {
		got, err := a.Recv(bg, owner, WaitForever)
		if err != nil || string(got) != want {
			t.Fatalf("Recv = %.8q (%d bytes), %v; want %.8q", got, len(got), err, want)
		}
	}
	mustSend(t, a, "to b")
	r.Adjust(owner, []Change{{ID: ida, Held: -1}})
	if !a.Closed() {
		t.Fatal("the end nothing holds is not closed")
	}
	if err := b.Send(bg, owner, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send to a closed end = %v, want ErrClosed", err)
	}
	r.Adjust(owner, []Change{{ID: idb, Held: -1}}) // and its sockets are closed, their writers done
	log.check(t, "the closed pipe", append(slices.Clone(sent[2:]), "late", "to b")...)
	if r.Len() != 0 {
		t.Fatalf("Len %d after both ends were dropped", r.Len())
	}
}

func TestPoolDrops(t *testing.T) {
	r, log := watchDrops()
	p, _ := manualPool(t, PoolConfig{Processes: 1})
	id := r.AddHeld(p, MainScript)
	f := p.AddFunction([]byte("fn"))
	if again := p.AddFunction([]byte("fn")); again != f {
		t.Fatalf("the same bytes got ids %d and %d", f, again)
	}
	log.check(t, "a function the pool keeps already", "fn")
	batch, _ := p.NewBatch(f)
	kept, _ := p.NewBatch(f)
	var tasks []uint64
	for _, args := range []string{"a1", "a2", "a3"} {
		task, err := p.Submit(batch, f, []byte(args))
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
	}
	if _, err := p.Submit(batch+100, f, []byte("stray")); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Submit to no batch = %v, want ErrNoTask", err)
	}
	log.check(t, "a Submit that failed", "stray")
	if task, err := p.Next(bg, 1, DontWait); err != nil || task.ID != tasks[0] {
		t.Fatalf("Next = %+v, %v", task, err)
	}
	p.Forget(batch)
	if err := p.Done(1, tasks[0], []byte("r1"), ""); err != nil {
		t.Fatal(err)
	}
	log.check(t, "the result of a forgotten batch's task", "r1")
	if err := p.Done(1, tasks[0], []byte("again"), ""); !errors.Is(err, ErrNoTask) {
		t.Fatalf("Done twice = %v, want ErrNoTask", err)
	}
	log.check(t, "the result of a task not running", "again")
	for i := range idleFunctions + 1 { // the first of them goes
		g := p.AddFunction([]byte("g" + strconv.Itoa(i)))
		b, _ := p.NewBatch(g)
		p.Forget(b)
	}
	log.check(t, "functions beyond idleFunctions", "g0")
	p.Hold([]byte("payload"))
	p.Terminate()
	log.check(t, "Terminate", "a2", "a3")
	if _, err := p.Submit(kept, f, []byte("closed")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Terminate = %v, want ErrClosed", err)
	}
	log.check(t, "a Submit after Terminate", "closed")
	r.Adjust(MainScript, []Change{{ID: id, Held: -1}})
	want := []string{"fn", "payload"}
	for i := 1; i <= idleFunctions; i++ {
		want = append(want, "g"+strconv.Itoa(i))
	}
	log.check(t, "the freed pool", want...)
}

// An item dropped with a handle lets go of its object, even when that frees an object whose
// drop frees another: the hook may call back into the Registry.
func TestDropsChain(t *testing.T) {
	r := NewRegistry()
	r.OnDrop(func(data []byte) {
		if id, err := strconv.ParseUint(string(data), 10, 64); err == nil {
			r.Adjust(MainScript, []Change{{ID: id, Transit: -1}})
		}
	})
	const owner Owner = 1
	inner := NewQueue(0)
	idInner := r.AddHeld(inner, owner)
	lock := r.AddHeld(NewLock(), owner)
	outer := NewQueue(0)
	idOuter := r.AddHeld(outer, owner)
	// The lock travels in inner, inner in outer; the owner drops all three.
	r.Adjust(owner, []Change{{ID: lock, Transit: 1}, {ID: idInner, Transit: 1}})
	if err := inner.Put(bg, owner, []byte(strconv.FormatUint(lock, 10)), DontWait); err != nil {
		t.Fatal(err)
	}
	if err := outer.Put(bg, owner, []byte(strconv.FormatUint(idInner, 10)), DontWait); err != nil {
		t.Fatal(err)
	}
	r.Adjust(owner, []Change{{ID: lock, Held: -1}, {ID: idInner, Held: -1}})
	if r.Len() != 3 {
		t.Fatalf("Len %d while the queue holds the others, want 3", r.Len())
	}
	r.Adjust(owner, []Change{{ID: idOuter, Held: -1}})
	if r.Len() != 0 {
		t.Fatalf("Len %d after the outer queue was freed, want 0", r.Len())
	}
}
