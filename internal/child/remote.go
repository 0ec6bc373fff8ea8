package child

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mphost/mphost/internal/ops"
	pb "github.com/mphost/mphost/internal/proto"
	"github.com/mphost/mphost/internal/slots"
	"github.com/mphost/mphost/internal/vm"
)

// Remote is a child's side of the vm.Runtime seam, and its chunk store:
// every call goes to the host over the child's own gRPC connection, but
// object calls and puts over its call socket (see calls.go), and a Value's
// numbers are read and changed in memory shared with the host (see package
// slots).
//
// Puts into an unbounded queue do not wait for the host, as Python's do
// not wait for the reader: they are kept in order and sent in batches, after
// flushDelay, when the batch is full, before any other call to the host (so
// what a process does after a put sees the put done) and when the process
// ends. A process killed meanwhile loses the puts not yet sent, each item
// whole; the queue never holds part of one.
type Remote struct {
	host   pb.HostClient
	calls  *CallClient  // object calls and puts
	values *slots.Slots // the numbers of Values, shared with the host; nil if none
	seat   slots.Seat   // this child's seat in values, where it takes locks; 0 if none
	self   vm.ProcessInfo
	parent vm.ProcessInfo
	puts   putBuffer
	pipes  pipeSockets
}

// Batching of puts.
const (
	flushDelay    = 2 * time.Millisecond
	maxBatchItems = 4096
	maxBatchBytes = 1 << 20
)

// putBuffer holds a child's puts not yet sent, and what the child has
// learnt of the queues, pipe ends and locks it uses.
type putBuffer struct {
	send sync.Mutex // held while a batch is sent, so batches go out in order
	// unsent is set while a put or a failure waits for Flush: a Flush
	// that finds it clear has nothing to do (a lock's release looks on
	// every call). Set under mu, cleared under send and mu once a Flush
	// has sent everything.
	unsent atomic.Bool

	mu        sync.Mutex
	batch     []byte // the puts not yet sent: a pb.PutBatchRequest in wire form
	spare     []byte // the last batch sent, reused for the next
	count     int    // items in batch
	bytes     int    // their data's bytes
	timer     *time.Timer
	err       error             // a failed background send, reported at the next call
	unbounded map[uint64]bool   // queues known to take puts without waiting
	posting   map[uint64]bool   // pipe ends whose sends are posted: one send has succeeded
	lockOf    map[uint64]uint64 // object -> the Lock or RLock it acquires (a Condition's, a Value's)
	held      map[uint64]int    // lock -> levels this process holds of it, as far as it knows
	dropped   map[uint64]int64  // items sent to a queue closed meanwhile, reported at its next put
}

// Flush posts the puts not yet sent (the host stores them before any later
// call on the call socket), and reports a background flush that failed
// since the last call: the call socket is broken then.
func (r *Remote) Flush() error {
	if !r.puts.unsent.Load() {
		return nil
	}
	r.puts.send.Lock()
	defer r.puts.send.Unlock()
	b := &r.puts
	b.mu.Lock()
	batch, failed := b.batch, b.err
	b.batch, b.spare, b.count, b.bytes, b.err = b.spare[:0], nil, 0, 0, nil
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
	var err error
	if len(batch) > 0 {
		err = r.calls.PostPuts(batch)
		b.mu.Lock()
		if cap(batch) <= 2*maxBatchBytes {
			b.spare = batch[:0] // written: the next batch may reuse it
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	if len(b.batch) == 0 && b.err == nil {
		b.unsent.Store(false)
	}
	b.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("an earlier put failed: %w", failed)
	}
	return err
}

// appendQueueItem appends one item of a pb.PutBatchRequest (field 1, a
// QueueItem{queue_id = 1, data = 2}) in wire form to batch.
func appendQueueItem(batch []byte, queue uint64, data []byte) []byte {
	size := protowire.SizeTag(1) + protowire.SizeVarint(queue) + protowire.SizeTag(2) + protowire.SizeBytes(len(data))
	batch = protowire.AppendTag(batch, 1, protowire.BytesType)
	batch = protowire.AppendVarint(batch, uint64(size))
	batch = protowire.AppendTag(batch, 1, protowire.VarintType)
	batch = protowire.AppendVarint(batch, queue)
	batch = protowire.AppendTag(batch, 2, protowire.BytesType)
	return protowire.AppendBytes(batch, data)
}

// Sync posts the puts not yet sent and waits until the host has run every
// call posted: before a call that goes to the host another way (gRPC), so
// that it sees them done.
func (r *Remote) Sync() error {
	if err := r.Flush(); err != nil {
		return err
	}
	return r.calls.Settle()
}

// takeDropped records the items of posted batches that the host has told
// were turned away by closed queues. Puts into those queues no longer wait
// for nothing: the next one goes to the host, and raises.
func (r *Remote) takeDropped() {
	d := r.calls.Dropped()
	if len(d) == 0 {
		return
	}
	b := &r.puts
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == nil {
		b.dropped = make(map[uint64]int64)
	}
	for id, n := range d {
		b.dropped[id] += n
		delete(b.unbounded, id)
	}
}

// End is called when the process ends: it sends the puts not yet sent,
// waits for the host to run the calls posted, and reports, as an error,
// the posted calls that failed and the items put into queues that were
// closed before they arrived. It takes every failure and count the client
// holds, so that a child that runs another process carries nothing over;
// if the host cannot be reached, the child is of no further use anyway.
func (r *Remote) End() error {
	defer r.closePipes()
	err := r.Sync()
	r.puts.keepBuffers()
	return errors.Join(err, r.calls.Failures(), r.dropped())
}

// batches are buffers for batches of puts, kept from one process to the
// next in a child: a batch grown from nothing to 1 MB copied itself 17
// times into new memory, a fifth of a child's CPU putting 10 KB items.
var batches = sync.Pool{New: func() any { b := make([]byte, 0, maxBatchBytes+maxBatchBytes/4); return &b }}

// keepBuffers gives the batch buffers, empty once the process has ended,
// back to batches.
func (b *putBuffer) keepBuffers() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, buf := range []*[]byte{&b.batch, &b.spare} {
		if kept := *buf; len(kept) == 0 && cap(kept) >= maxBatchBytes && cap(kept) <= 2*maxBatchBytes {
			batches.Put(&kept)
		}
		*buf = nil
	}
}

// dropped reports the items put into queues that were closed before they
// arrived, as an error; nil when there were none.
func (r *Remote) dropped() error {
	r.takeDropped()
	b := &r.puts
	b.mu.Lock()
	defer b.mu.Unlock()
	var total int64
	for _, n := range b.dropped {
		total += n
	}
	if total == 0 {
		return nil
	}
	b.dropped = nil
	return fmt.Errorf("%d item(s) put into a queue were not delivered: the queue was closed before they arrived", total)
}

// droppedFor reports, once, the items put into queue id that a close
// turned away.
func (r *Remote) droppedFor(id uint64) error {
	r.takeDropped()
	b := &r.puts
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.dropped[id]
	if n == 0 {
		return nil
	}
	delete(b.dropped, id)
	return fmt.Errorf("the queue is closed; %d item(s) put before were not delivered", n)
}

// remoteError gives a host's error as the host wrote it, without gRPC's
// status text, so that a script sees the same message in a child as in the
// main script.
func remoteError(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Canceled && st.Code() != codes.DeadlineExceeded {
		return errors.New(st.Message())
	}
	return err
}

// bufferPut keeps a put into an unbounded queue; false when the queue is
// not known to be unbounded.
func (r *Remote) bufferPut(call vm.ObjectCall) (bool, error) {
	b := &r.puts
	b.mu.Lock()
	// An item larger than a batch goes on its own, as a put that waits
	// (after the batch before it): so a batch stays under 2*maxBatchBytes,
	// and an item too large for any message raises at its put rather than
	// make the batch it would join fail, with the puts before it.
	if !b.unbounded[call.ID] || len(call.Value.Data) > maxBatchBytes {
		b.mu.Unlock()
		return false, nil
	}
	if b.batch == nil {
		b.batch = (*batches.Get().(*[]byte))[:0]
	}
	b.batch = appendQueueItem(b.batch, call.ID, call.Value.Data)
	b.unsent.Store(true)
	b.count++
	b.bytes += len(call.Value.Data)
	full := b.count >= maxBatchItems || b.bytes >= maxBatchBytes
	if !full && b.timer == nil {
		b.timer = time.AfterFunc(flushDelay, func() {
			if err := r.Flush(); err != nil {
				b.mu.Lock()
				b.err = err
				b.unsent.Store(true)
				b.mu.Unlock()
			}
		})
	}
	b.mu.Unlock()
	if full {
		return true, r.Flush()
	}
	return true, nil
}

// learn records, from a call's reply, what the call's posting rule
// (ops.Post) needs: that a queue is unbounded (a put returned at once, and
// the queue has no maxsize), that sends on a pipe end can be posted (a send
// succeeded: later ones can fail only if the pipe is closed meanwhile), or
// what this process holds of a lock: the host names, in the reply to an
// operation with a Hold (an acquire or release of a Lock or RLock, also a
// Condition's or a Value's), the lock it was, and the levels held are
// counted when the host keeps the lock (hostKeeps). Semaphores are not
// counted: other processes may release them.
func (r *Remote) learn(call vm.ObjectCall, reply vm.ObjectReply) {
	d := call.Op.Decl()
	if d.Post == ops.Never && d.Hold == 0 {
		return
	}
	b := &r.puts
	b.mu.Lock()
	defer b.mu.Unlock()
	switch lock := reply.Lock; {
	case d.Post == ops.Batched && reply.OK && reply.Maxsize == 0:
		b.unbounded = setIn(b.unbounded, call.ID, true)
	case d.Post == ops.AfterSuccess:
		b.posting = setIn(b.posting, call.ID, true)
	case d.Hold != 0 && lock != 0 && (d.Hold < 0 || reply.OK): // an acquire that ran out holds nothing
		b.lockOf = setIn(b.lockOf, call.ID, lock)
		if r.hostKeeps(lock) {
			b.held = setIn(b.held, lock, max(b.held[lock]+int(d.Hold), 0))
		}
	}
}

// hostKeeps reports whether every acquire and release of lock goes to the
// host, so that the replies to them count what this process holds: the
// child has no seat, or the lock has no record in the shared memory.
// Otherwise it takes and gives the lock there (TakeLock, GiveLock), the
// host hears only of the calls the memory turns away, and no count here
// would be right.
func (r *Remote) hostKeeps(lock uint64) bool {
	return r.seat == 0 || r.values.RMutex(lock) == nil
}

// setIn sets m[k] to v, making m if it is nil.
func setIn[V any](m map[uint64]V, k uint64, v V) map[uint64]V {
	if m == nil {
		m = make(map[uint64]V)
	}
	m[k] = v
	return m
}

// postable reports whether a call can be posted, as it cannot fail and
// returns nothing, by its operation's ops.Post rule: a send on a pipe end
// whose sends are posted; a release of a lock the host keeps and this
// process holds (learn counts it; the host checks only that, for a Lock or
// an RLock); an Event's set; a Value's
// set when its numbers are not in memory (a get or add there right after
// must see the set done).
func (r *Remote) postable(call vm.ObjectCall) bool {
	rule := call.Op.Decl().Post
	if rule == ops.Never || rule == ops.Batched {
		return false
	}
	b := &r.puts
	b.mu.Lock()
	defer b.mu.Unlock()
	switch rule {
	case ops.AfterSuccess:
		return b.posting[call.ID]
	case ops.WhenHeld:
		lock := b.lockOf[call.ID]
		if lock == 0 || b.held[lock] == 0 {
			return false
		}
		b.held[lock]--
		return true
	case ops.Always:
		return true
	case ops.WithoutSlot:
		return r.values == nil
	}
	return false
}

var _ vm.Runtime = (*Remote)(nil)
var _ vm.ChunkStore = (*Remote)(nil)
var _ vm.ValueCopier = (*Remote)(nil)

// CopiesValues implements vm.ValueCopier: a put is copied into its
// batch, and any other call into its frame, before Invoke returns.
func (r *Remote) CopiesValues() {}

// Self implements vm.Runtime.
func (r *Remote) Self() vm.ProcessInfo { return r.self }

// Parent implements vm.Runtime.
func (r *Remote) Parent() (vm.ProcessInfo, bool) { return r.parent, true }

// Spawn implements vm.Runtime.
func (r *Remote) Spawn(ctx context.Context, req vm.SpawnRequest) (vm.ProcessStatus, error) {
	if err := r.Sync(); err != nil {
		return vm.ProcessStatus{}, err
	}
	s, err := r.host.Spawn(ctx, &pb.SpawnRequest{Name: req.Name, Daemon: req.Daemon, Identity: req.Identity, Payload: req.Payload})
	return statusFromProto(s), remoteError(err)
}

// Wait implements vm.Runtime.
func (r *Remote) Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (vm.ProcessStatus, error) {
	if err := r.Sync(); err != nil {
		return vm.ProcessStatus{}, err
	}
	s, err := r.host.Wait(ctx, &pb.WaitRequest{Id: id, Forever: forever, TimeoutNs: int64(timeout)})
	return statusFromProto(s), remoteError(err)
}

// Status implements vm.Runtime.
func (r *Remote) Status(id uint64) (vm.ProcessStatus, error) {
	if err := r.Sync(); err != nil {
		return vm.ProcessStatus{}, err
	}
	s, err := r.host.Status(context.Background(), &pb.ProcessRef{Id: id})
	return statusFromProto(s), remoteError(err)
}

// Signal implements vm.Runtime.
func (r *Remote) Signal(id uint64, sig syscall.Signal) error {
	if err := r.Sync(); err != nil {
		return err
	}
	_, err := r.host.Signal(context.Background(), &pb.SignalRequest{Id: id, Signal: int32(sig)})
	return remoteError(err)
}

// Release implements vm.Runtime.
func (r *Remote) Release(id uint64) error {
	if err := r.Sync(); err != nil {
		return err
	}
	_, err := r.host.Release(context.Background(), &pb.ProcessRef{Id: id})
	return remoteError(err)
}

// Fetch implements vm.ChunkStore.
func (r *Remote) Fetch(id vm.ChunkID) (vm.Chunk, error) {
	if err := r.Sync(); err != nil {
		return vm.Chunk{}, err
	}
	c, err := r.host.FetchChunk(context.Background(), &pb.ChunkRef{Id: id[:]})
	if err != nil {
		return vm.Chunk{}, remoteError(err)
	}
	return vm.Chunk{Name: c.Name, Source: c.Source}, nil
}

// Publish implements vm.ChunkStore.
func (r *Remote) Publish(c vm.Chunk) error {
	if err := r.Sync(); err != nil {
		return err
	}
	_, err := r.host.PublishChunk(context.Background(), &pb.Chunk{Name: c.Name, Source: c.Source})
	return remoteError(err)
}

// NewObject implements vm.Runtime.
func (r *Remote) NewObject(kind string, args vm.ObjectArgs) ([]uint64, error) {
	if err := r.Sync(); err != nil {
		return nil, err
	}
	reply, err := r.host.NewObject(context.Background(), ObjectArgsToProto(kind, args))
	if err != nil {
		return nil, remoteError(err)
	}
	return reply.Ids, nil
}

// Invoke implements vm.Runtime. An operation on an object whose posted
// call failed (a send; see postable), started after the host told of it,
// raises that failure instead of running; a put, a failed batch of puts.
func (r *Remote) Invoke(ctx context.Context, call vm.ObjectCall) (vm.ObjectReply, error) {
	if call.Kind == "Value" {
		if reply, done := r.valueInMemory(call); done {
			return reply, nil
		}
	}
	if reply, done, err := r.lockInMemory(ctx, call); done {
		return reply, err
	}
	if err := r.calls.Failed(call.ID); err != nil {
		r.forgetPosting(call.ID)
		return vm.ObjectReply{}, err
	}
	if call.Kind == "Connection" {
		if reply, done, err := r.pipeInSocket(ctx, call); done {
			return reply, err
		}
	}
	if call.Op.Decl().Post == ops.Batched {
		if err := r.calls.Failed(PutsFailed); err != nil {
			return vm.ObjectReply{}, err
		}
		if err := r.droppedFor(call.ID); err != nil {
			return vm.ObjectReply{}, err
		}
		if buffered, err := r.bufferPut(call); buffered {
			return vm.ObjectReply{OK: true}, err
		}
	}
	if call.Op == ops.QueueClose || call.Op == ops.ConnectionClose {
		r.forgetQueue(call.ID)
	}
	if err := r.Flush(); err != nil {
		return vm.ObjectReply{}, err
	}
	if r.postable(call) {
		return vm.ObjectReply{}, r.calls.Post(CallToProto(call))
	}
	pbReply, err := r.calls.Invoke(ctx, CallToProto(call))
	if err != nil {
		return vm.ObjectReply{}, remoteError(err)
	}
	reply := ReplyFromProto(pbReply)
	r.learn(call, reply)
	return reply, nil
}

// valueInMemory does a Value's get, set or add of a number in the memory
// shared with the host, without a call, as Python's Value is shared memory;
// like Python's, it does not wait for this process's puts. done
// is false when the host must do it: the Value has no slot, or holds or is
// given something other than a number.
func (r *Remote) valueInMemory(call vm.ObjectCall) (reply vm.ObjectReply, done bool) {
	slot := r.values.Slot(call.ID)
	if slot == nil {
		return reply, false
	}
	// Posted calls (a send, an Event's set, a release) are done when they
	// return, in Python as here: wait for the host to have run them, so that
	// no process sees this Value change before them. Nothing is posted since
	// the last reply in the usual case (an increment under a Lock: the
	// acquire's reply came after the last release), and this costs nothing.
	if err := r.calls.Settle(); err != nil {
		return reply, false // the call to the host will say what is wrong
	}
	switch call.Op {
	case ops.ValueGet:
		n, ok := slot.Load()
		return vm.ObjectReply{OK: true, Value: vm.Value{Number: n, IsNumber: true}}, ok
	case ops.ValueSet:
		if call.Value.IsNumber && slots.Holds(call.Value.Number) {
			slot.Store(call.Value.Number)
			return reply, true
		}
	case ops.ValueAdd:
		sum, ok := slot.Add(call.Value.Number)
		return vm.ObjectReply{Value: vm.Value{Number: sum, IsNumber: true}}, ok
	}
	return reply, false
}

// forgetPosting makes the sends on pipe end id wait for the host again.
func (r *Remote) forgetPosting(id uint64) {
	r.puts.mu.Lock()
	delete(r.puts.posting, id)
	r.puts.mu.Unlock()
}

// forgetQueue stops batching puts into a queue that this process closes,
// and posting sends on any pipe end (the child does not know which end is
// the peer of which), so that a put or send after the close raises at once.
func (r *Remote) forgetQueue(id uint64) {
	r.puts.mu.Lock()
	delete(r.puts.unbounded, id)
	r.puts.posting = nil
	r.puts.mu.Unlock()
}
