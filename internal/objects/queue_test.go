package objects

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// get starts a Queue.Get in a goroutine.
func get(ctx context.Context, q *Queue, w Wait) <-chan result {
	return startData(func() ([]byte, error) { return q.Get(ctx, w) })
}

// put starts a Queue.Put in a goroutine.
func put(ctx context.Context, q *Queue, owner Owner, item string, w Wait) <-chan result {
	return start(func() result { return result{err: q.Put(ctx, owner, []byte(item), w)} })
}

// mustPut puts at once or fails the test.
func mustPut(t *testing.T, q *Queue, items ...string) {
	t.Helper()
	for _, item := range items {
		if err := q.Put(bg, 1, []byte(item), DontWait); err != nil {
			t.Fatalf("Put(%q): %v", item, err)
		}
	}
}

// mustGet gets at once and checks the item, or fails the test.
func mustGet(t *testing.T, q *Queue, want string) {
	t.Helper()
	got, err := q.Get(bg, DontWait)
	if err != nil || string(got) != want {
		t.Fatalf("Get = %q, %v; want %q", got, err, want)
	}
}

// parked reports the number of calls parked on q: getters and putters.
func (q *Queue) parked() (getters, putters int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.getters.len(), q.putters.len()
}

func TestQueuePutGet(t *testing.T) {
	q := NewQueue(0)
	if !q.Empty() || q.Full() || q.Qsize() != 0 {
		t.Fatal("new queue not empty")
	}
	mustPut(t, q, "a", "b", "c")
	if q.Qsize() != 3 || q.Empty() || q.Full() {
		t.Fatalf("Qsize = %d", q.Qsize())
	}
	for _, want := range []string{"a", "b", "c"} {
		mustGet(t, q, want)
	}
}

func TestQueueDontWait(t *testing.T) {
	q := NewQueue(1)
	if _, err := q.Get(bg, DontWait); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Get on empty queue = %v, want ErrEmpty", err)
	}
	mustPut(t, q, "a")
	if !q.Full() {
		t.Fatal("queue of 1 with 1 item is not full")
	}
	if err := q.Put(bg, 1, []byte("b"), DontWait); !errors.Is(err, ErrFull) {
		t.Fatalf("Put on full queue = %v, want ErrFull", err)
	}
	if err := q.Put(bg, 1, []byte("b"), WaitUpTo(0)); !errors.Is(err, ErrFull) {
		t.Fatalf("Put with zero timeout = %v, want ErrFull", err)
	}
}

func TestQueueTimeouts(t *testing.T) {
	q := NewQueue(1)
	began := time.Now()
	if _, err := q.Get(bg, WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Get = %v, want ErrEmpty", err)
	}
	atLeast(t, began, shortWait)
	mustPut(t, q, "a")
	began = time.Now()
	if err := q.Put(bg, 1, []byte("b"), WaitUpTo(shortWait)); !errors.Is(err, ErrFull) {
		t.Fatalf("Put = %v, want ErrFull", err)
	}
	atLeast(t, began, shortWait)
	if g, p := q.parked(); g != 0 || p != 0 {
		t.Fatalf("%d getters, %d putters parked after timeouts", g, p)
	}
}

func TestQueueWaitersWake(t *testing.T) {
	q := NewQueue(1)
	got := get(bg, q, WaitForever)
	eventually(t, "the get waits", func() bool { g, _ := q.parked(); return g == 1 })
	mustPut(t, q, "a")
	if r := await(t, got); r.err != nil || string(r.data) != "a" {
		t.Fatalf("Get = %+v", r)
	}
	mustPut(t, q, "b")
	putting := put(bg, q, 2, "c", WaitForever)
	eventually(t, "the put waits", func() bool { _, p := q.parked(); return p == 1 })
	mustGet(t, q, "b")
	if r := await(t, putting); r.err != nil {
		t.Fatalf("Put = %v", r.err)
	}
	mustGet(t, q, "c")
}

func TestQueueCancel(t *testing.T) {
	q := NewQueue(1)
	ctx, cancel := cancelled(t)
	getting := get(ctx, q, WaitForever)
	eventually(t, "the get waits", func() bool { g, _ := q.parked(); return g == 1 })
	cancel()
	if r := await(t, getting); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Get = %+v", r)
	}
	mustPut(t, q, "a")
	ctx, cancel = cancelled(t)
	putting := put(ctx, q, 1, "b", WaitForever)
	eventually(t, "the put waits", func() bool { _, p := q.parked(); return p == 1 })
	cancel()
	if r := await(t, putting); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Put = %+v", r)
	}
	if q.Qsize() != 1 {
		t.Fatalf("Qsize = %d after a cancelled put, want 1", q.Qsize())
	}
}

func TestQueueClose(t *testing.T) {
	q := NewQueue(1)
	getting := get(bg, q, WaitForever)
	eventually(t, "the get waits", func() bool { g, _ := q.parked(); return g == 1 })
	q.Close()
	if r := await(t, getting); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Get woken by Close = %+v, want ErrClosed", r)
	}
	if err := q.Put(bg, 1, []byte("a"), DontWait); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	if !q.Closed() {
		t.Fatal("Closed = false")
	}

	q = NewQueue(1)
	mustPut(t, q, "a")
	putting := put(bg, q, 2, "b", WaitForever)
	eventually(t, "the put waits", func() bool { _, p := q.parked(); return p == 1 })
	q.Close()
	q.Close()
	if r := await(t, putting); !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Put woken by Close = %+v, want ErrClosed", r)
	}
	mustGet(t, q, "a")
}

// A 10 MB backlog survives Close and drains in order, then the queue reports ErrClosed.
func TestQueueBacklogCloseDrain(t *testing.T) {
	const items, size = 10_000, 1 << 10
	q := NewQueue(0)
	for i := range items {
		item := bytes.Repeat([]byte{byte(i)}, size)
		binary.BigEndian.PutUint32(item, uint32(i))
		if err := q.Put(bg, 1, item, DontWait); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	for i := 0; i < items; {
		batch, err := q.GetBatch(bg, 1+i%100, WaitForever)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		for _, item := range batch {
			if len(item) != size || binary.BigEndian.Uint32(item) != uint32(i) {
				t.Fatalf("item %d out of order or damaged", i)
			}
			i++
		}
	}
	if _, err := q.Get(bg, WaitForever); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after drain = %v, want ErrClosed", err)
	}
	if _, err := q.GetBatch(bg, 10, DontWait); !errors.Is(err, ErrClosed) {
		t.Fatalf("GetBatch after drain = %v, want ErrClosed", err)
	}
}

func TestQueuePutBatch(t *testing.T) {
	q := NewQueue(0)
	mustPut(t, q, "a")
	if err := q.PutBatch(bg, 1, [][]byte{[]byte("b"), []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := q.PutBatch(bg, 1, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b", "c"} {
		mustGet(t, q, want)
	}

	bounded := NewQueue(2)
	if err := bounded.PutBatch(bg, 1, [][]byte{{1}, {2}, {3}}); !errors.Is(err, ErrFull) {
		t.Fatalf("batch larger than maxsize = %v, want ErrFull", err)
	}
	mustPut(t, bounded, "a")
	putting := start(func() result { return result{err: bounded.PutBatch(bg, 1, [][]byte{[]byte("b"), []byte("c")})} })
	eventually(t, "the batch waits for room", func() bool { _, p := bounded.parked(); return p == 1 })
	if bounded.Qsize() != 1 {
		t.Fatal("part of a batch went in")
	}
	mustGet(t, bounded, "a")
	if r := await(t, putting); r.err != nil {
		t.Fatal(r.err)
	}
	mustGet(t, bounded, "b")
	mustGet(t, bounded, "c")
	bounded.Close()
	if err := bounded.PutBatch(bg, 1, [][]byte{{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutBatch after Close = %v", err)
	}
}

func TestQueueGetBatch(t *testing.T) {
	q := NewQueue(0)
	getting := start(func() result {
		items, err := q.GetBatch(bg, 3, WaitForever)
		return result{n: len(items), data: bytes.Join(items, nil), err: err}
	})
	eventually(t, "the batch get waits", func() bool { g, _ := q.parked(); return g == 1 })
	if err := q.PutBatch(bg, 1, [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}); err != nil {
		t.Fatal(err)
	}
	if r := await(t, getting); r.err != nil || string(r.data) != "abc" {
		t.Fatalf("GetBatch = %+v, want abc", r)
	}
	items, err := q.GetBatch(bg, 0, DontWait) // a limit below 1 still takes one item
	if err != nil || len(items) != 1 || string(items[0]) != "d" {
		t.Fatalf("GetBatch = %q, %v", items, err)
	}
	if _, err := q.GetBatch(bg, 5, WaitUpTo(shortWait)); !errors.Is(err, ErrEmpty) {
		t.Fatalf("GetBatch on empty queue = %v, want ErrEmpty", err)
	}
}

// producerItem encodes item seq of producer p.
func producerItem(p, seq int) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(p)), uint32(seq))
}

// Items from each producer come out in the order it put them, with several producers putting
// at once, through a bounded queue so that puts also wait.
func TestQueueOrderPerProducer(t *testing.T) {
	const producers, each = 4, 5_000
	q := NewQueue(16)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for seq := 0; seq < each; {
				if p%2 == 0 && seq%50 == 0 { // some producers batch now and then
					var batch [][]byte
					for ; seq < each && len(batch) < 5; seq++ {
						batch = append(batch, producerItem(p, seq))
					}
					if err := q.PutBatch(bg, Owner(p+1), batch); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				if err := q.Put(bg, Owner(p+1), producerItem(p, seq), WaitForever); err != nil {
					t.Error(err)
					return
				}
				seq++
			}
		})
	}
	next := make([]int, producers)
	for range producers * each {
		item, err := q.Get(bg, WaitUpTo(patience))
		if err != nil {
			t.Fatal(err)
		}
		p, seq := int(binary.BigEndian.Uint32(item)), int(binary.BigEndian.Uint32(item[4:]))
		if seq != next[p] {
			t.Fatalf("producer %d: got item %d, want %d", p, seq, next[p])
		}
		next[p]++
	}
	wg.Wait()
}

// Many producers and consumers on a small queue: every item arrives exactly once, so no wake-up
// was lost.
func TestQueueManyProducersAndConsumers(t *testing.T) {
	const producers, consumers, each = 4, 4, 2_000
	q := NewQueue(2)
	var producing, consuming sync.WaitGroup
	for p := range producers {
		producing.Go(func() {
			for seq := range each {
				if err := q.Put(bg, Owner(p+1), producerItem(p, seq), WaitForever); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := make(chan []byte, producers*each)
	for range consumers {
		consuming.Go(func() {
			for {
				item, err := q.Get(bg, WaitUpTo(patience))
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				seen <- item
			}
		})
	}
	producing.Wait()
	q.Close()
	consuming.Wait()
	close(seen)
	got := make(map[string]bool)
	for item := range seen {
		if got[string(item)] {
			t.Fatalf("item %x arrived twice", item)
		}
		got[string(item)] = true
	}
	if len(got) != producers*each {
		t.Fatalf("%d items arrived, want %d", len(got), producers*each)
	}
}

func TestJoinableQueue(t *testing.T) {
	q := NewJoinableQueue(0)
	if err := q.Join(bg); err != nil {
		t.Fatalf("Join with no tasks = %v", err)
	}
	mustPut(t, &q.Queue, "a", "b")
	joining := start(func() result { return result{err: q.Join(bg)} })
	for i := range 2 {
		if _, err := q.Get(bg, DontWait); err != nil {
			t.Fatal(err)
		}
		pending(t, joining)
		if q.Unfinished() != 2-i {
			t.Fatalf("Unfinished = %d", q.Unfinished())
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if r := await(t, joining); r.err != nil {
		t.Fatalf("Join = %v", r.err)
	}
	if err := q.TaskDone(); !errors.Is(err, ErrTooManyTaskDone) {
		t.Fatalf("extra TaskDone = %v, want ErrTooManyTaskDone", err)
	}

	mustPut(t, &q.Queue, "c")
	ctx, cancel := cancelled(t)
	joining = start(func() result { return result{err: q.Join(ctx)} })
	cancel()
	if r := await(t, joining); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled Join = %v", r.err)
	}
}

func TestQueuePollLeavesItemForGetters(t *testing.T) {
	q := NewQueue(0)
	polling := start(func() result {
		ok, err := q.poll(bg, WaitForever)
		return result{ok: ok, err: err}
	})
	eventually(t, "the poll waits", func() bool { g, _ := q.parked(); return g == 1 })
	getting := get(bg, q, WaitForever)
	eventually(t, "the get waits", func() bool { g, _ := q.parked(); return g == 2 })
	mustPut(t, q, "a") // wakes the poll, which must pass the item on to the get
	if r := await(t, polling); !r.ok || r.err != nil {
		t.Fatalf("poll = %+v", r)
	}
	if r := await(t, getting); r.err != nil || string(r.data) != "a" {
		t.Fatalf("Get = %+v", r)
	}
}

func ExampleQueue() {
	q := NewQueue(0)
	ctx := context.Background()
	_ = q.Put(ctx, MainScript, []byte("first"), WaitForever)
	_ = q.Put(ctx, MainScript, []byte("second"), WaitForever)
	q.Close()
	for {
		item, err := q.Get(ctx, WaitForever)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(item))
	}
	// Output:
	// first
	// second
	// closed
}
