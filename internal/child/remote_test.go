package child

import (
	"context"
	"strings"
	"testing"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
)

// TestRemotePostsWhatCannotFail proves the rules by which a child posts a
// call: a release only of a lock it holds, counted per lock as the host
// names it (so a Condition and the Lock it was made with count together),
// never a semaphore's; a set always; a send once one has succeeded.
func TestRemotePostsWhatCannotFail(t *testing.T) {
	r := &Remote{}
	acquire := func(id, lock uint64) {
		r.learn(vm.ObjectCall{ID: id, Op: ops.LockAcquire}, vm.ObjectReply{OK: true, Lock: lock})
	}
	released := func(id, lock uint64) {
		r.learn(vm.ObjectCall{ID: id, Op: ops.LockRelease}, vm.ObjectReply{Lock: lock})
	}
	posts := func(id uint64, op ops.Op) bool { return r.postable(vm.ObjectCall{ID: id, Op: op}) }

	// Condition 5 made with Lock 3.
	acquire(5, 3)
	if !posts(5, ops.LockRelease) {
		t.Error("the release of a condition's lock this process acquired is not posted")
	}
	if posts(5, ops.LockRelease) || posts(3, ops.LockRelease) {
		t.Error("a second release was posted: it would fail in the host")
	}
	acquire(5, 3)
	released(3, 3) // by the Lock's own id, waiting for the host
	if posts(5, ops.LockRelease) {
		t.Error("a release by the condition after the lock's own release was posted: it would fail")
	}
	acquire(3, 3)
	if !posts(5, ops.LockRelease) {
		t.Error("the condition's release of a lock acquired by its own id is not posted")
	}

	// An RLock, twice.
	acquire(7, 7)
	acquire(7, 7)
	if !posts(7, ops.LockRelease) || !posts(7, ops.LockRelease) || posts(7, ops.LockRelease) {
		t.Error("an RLock acquired twice: want two posted releases, then none")
	}

	// A semaphore: the host names no lock, as others may release it too.
	acquire(9, 0)
	if posts(9, ops.LockRelease) {
		t.Error("a semaphore's release was posted")
	}
	r.learn(vm.ObjectCall{ID: 9, Op: ops.LockAcquire}, vm.ObjectReply{OK: false})
	if posts(9, ops.LockRelease) {
		t.Error("a release after a failed acquire was posted")
	}

	if !posts(11, ops.EventSet) {
		t.Error("a set is not posted")
	}
	if posts(12, ops.ConnectionSend) {
		t.Error("the first send on an end was posted")
	}
	r.learn(vm.ObjectCall{ID: 12, Op: ops.ConnectionSend}, vm.ObjectReply{})
	if !posts(12, ops.ConnectionSend) {
		t.Error("a send after one succeeded is not posted")
	}
}

// TestRemoteCountsOnlyWhatTheHostKeeps proves that a child with a seat,
// which takes and gives a lock in the shared memory, counts nothing from the
// host's reply to an acquire (a Condition's first, before the child knows
// its lock): its later releases are done in the memory, so a release that
// reaches the host is one the memory refused, and it waits for the host's
// answer rather than being posted.
func TestRemoteCountsOnlyWhatTheHostKeeps(t *testing.T) {
	mem, err := slots.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	seat, err := mem.TakeSeat()
	if err != nil {
		t.Fatal(err)
	}
	const cond, lock = 5, 3
	r := &Remote{values: mem, seat: seat}
	r.learn(vm.ObjectCall{ID: cond, Op: ops.ConditionAcquire}, vm.ObjectReply{OK: true, Lock: lock})
	if r.postable(vm.ObjectCall{ID: cond, Op: ops.ConditionRelease}) {
		t.Error("a release of a lock kept in the memory was posted")
	}
	if got := r.lockOf(ops.ConditionRelease, cond); got != lock {
		t.Errorf("the condition's lock is %d, want %d", got, lock)
	}
}

// TestRemoteBatchesOnlySmallPuts proves that an item larger than a batch is
// not batched: the batch before it is flushed, and the item goes as a put
// that waits, so that an item too large to send fails alone.
func TestRemoteBatchesOnlySmallPuts(t *testing.T) {
	h := newFakeHost()
	r := &Remote{calls: NewCallClient(serveCalls(t, h).child)}
	r.puts.unbounded = map[uint64]bool{1: true}
	put := func(size int) (vm.ObjectReply, error) {
		return r.Invoke(context.Background(), vm.ObjectCall{ID: 1, Op: ops.QueuePut, Value: vm.Value{Data: []byte(strings.Repeat("x", size))}})
	}
	for range 3 {
		if _, err := put(10); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.items.Load(); n != 0 {
		t.Fatalf("%d items reached the host before a flush, want 0: small puts are batched", n)
	}
	reply, err := put(maxBatchBytes + 1)
	if err != nil {
		t.Fatal(err)
	}
	// The fake host echoes a put that waits, with Status "put"; the batch
	// went first.
	if reply.Status != "put" || h.items.Load() != 3 {
		t.Errorf("a large put: reply %+v, %d items stored before it; want the host's reply and 3", reply, h.items.Load())
	}
	if err := r.End(); err == nil || !strings.Contains(err.Error(), "3 item(s)") {
		t.Errorf("End = %v, want the 3 items the fake host turned away reported", err)
	}
}

// TestRemoteValueInMemory proves that a child's get, set and add of a
// Value's number are done in the shared memory, with no call to the host,
// but only once the host has run the calls the child posted before (a send,
// a release), which Python completes before they return; and that a Value
// holding something else, or one with no slot, goes to the host.
func TestRemoteValueInMemory(t *testing.T) {
	mem, err := slots.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	h := newFakeHost()
	r := &Remote{calls: NewCallClient(serveCalls(t, h).child), values: mem}
	value := func(op ops.Op, id uint64, n float64) (vm.ObjectReply, error) {
		return r.Invoke(context.Background(), vm.ObjectCall{ID: id, Kind: "Value", Op: op, Value: vm.Value{Number: n, IsNumber: true}})
	}
	mem.Slot(4).Store(40)
	if reply, err := value(ops.ValueAdd, 4, 2); err != nil || reply.Value.Number != 42 {
		t.Errorf("add = %+v, %v; want 42", reply, err)
	}
	if _, err := value(ops.ValueSet, 4, 7); err != nil {
		t.Fatal(err)
	}
	if reply, err := value(ops.ValueGet, 4, 0); err != nil || reply.Value.Number != 7 || !reply.OK {
		t.Errorf("get = %+v, %v; want 7", reply, err)
	}
	if n := h.sum.Load(); n != 0 {
		t.Fatalf("the host saw calls: %d", n)
	}
	// A posted add (standing in for a send or a release) runs in the host
	// before the next memory operation returns.
	if err := r.calls.Post(&pb.ObjectCall{Op: uint32(ops.ValueAdd), Count: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := value(ops.ValueGet, 4, 0); err != nil || h.sum.Load() != 5 {
		t.Errorf("a get after a post: %v, and the host had run %d of the post; want it run", err, h.sum.Load())
	}
	// Text in the host: the fake host echoes, with Status "get".
	mem.Slot(4).StoreOther()
	if reply, err := value(ops.ValueGet, 4, 0); err != nil || reply.Status != "get" {
		t.Errorf("a get of a Value holding text: %+v, %v; want the host's reply", reply, err)
	}
	if reply, err := value(ops.ValueGet, slots.Count, 0); err != nil || reply.Status != "get" {
		t.Errorf("a get of a Value with no slot: %+v, %v; want the host's reply", reply, err)
	}
}
