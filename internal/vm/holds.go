package vm

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/ops"
)

// A host frees the objects that no process can reach any more. A VM tells
// it, through a Runtime that is a [Holder], which objects it holds: Lua has
// no finalizers, so the VM watches each object's userdata with a Go cleanup
// and counts, per object, the userdata alive. It reports when Go has
// collected the last of its userdata for one, each handle it puts into
// something sent (a queue item, a pipe message, a process's arguments),
// which holds the object while it travels (a token), and each handle it
// decodes: what that tells the host depends on the carrier (a receipt).
// Reports go in batches, at the VM's next call to a shared object; sends
// before the message that carries them leaves.

// receipt is what decoding a handle out of a carrier tells the host.
type receipt byte

const (
	// received: the carrier is delivered once (a queue item, a pipe
	// message, a pool task or result): the handle's token becomes this
	// process's hold.
	received receipt = iota
	// shared: the carrier is decoded again, here or elsewhere (a Value's
	// content, a pool's function): it keeps its tokens, and this process
	// holds the object.
	shared
	// delivered: the host made this process a holder as it handed the
	// carrier over (a process's arguments), or made the object for it.
	delivered
)

// HoldChange is a change in what holds one object, as a VM reports it.
type HoldChange struct {
	ID      uint64
	Held    int8  // +1: this process holds the object from now on; -1: it no longer does
	Transit int32 // handles of the object this process put into something sent
}

// Holder is a Runtime that frees the objects nothing holds: the VM reports
// to it what its process holds.
type Holder interface {
	Runtime
	// Hold applies changes, in order, for this process.
	Hold(changes []HoldChange) error
}

// objectHolds is what a VM holds of the host's objects. Only the VM's
// goroutine touches it, except dropped, which cleanups fill.
type objectHolds struct {
	holder  Holder
	live    []int32            // object index (the low 32 bits of its id) -> userdata alive for it
	changes []HoldChange       // not yet reported
	dropped *collected[uint64] // ids of object userdata Go has collected
}

// objectHolds returns the VM's holds, or nil when its runtime frees nothing.
func (vm *VM) objectHolds() *objectHolds {
	if vm.holds == nil {
		holder, ok := vm.runtime.(Holder)
		if !ok {
			return nil
		}
		vm.holds = &objectHolds{holder: holder, dropped: new(collected[uint64])}
	}
	return vm.holds
}

// watchObject counts ud, the userdata of object id, among those alive, and
// records what its receipt tells the host. Counts go by the object's index:
// the host hands an index out again only once every process has dropped the
// object that had it.
func (vm *VM) watchObject(ud *lua.LUserData, id uint64, r receipt) {
	h := vm.objectHolds()
	if h == nil {
		return
	}
	index := id & indexMask
	if index >= uint64(len(h.live)) {
		h.live = append(h.live, make([]int32, int(index)+1-len(h.live)+len(h.live)/2)...)
	}
	switch {
	case r == received:
		// Also when this process holds the object already: the host then
		// only lets the token go, or reopens what this process closed.
		h.changes = append(h.changes, HoldChange{ID: id, Held: 1, Transit: -1})
	case r == shared && h.live[index] == 0:
		h.changes = append(h.changes, HoldChange{ID: id, Held: 1})
	}
	h.live[index]++
	runtime.AddCleanup(ud, h.dropped.add, id)
}

// indexMask keeps an object id's index.
const indexMask = 1<<32 - 1

// sentObject records that a handle of object id was put into a message.
func (vm *VM) sentObject(id uint64) {
	if h := vm.objectHolds(); h != nil {
		h.changes = append(h.changes, HoldChange{ID: id, Transit: 1})
	}
}

// holdMark is where the changes not yet reported end, for unsent.
func (vm *VM) holdMark() int {
	if vm.holds == nil {
		return 0
	}
	return len(vm.holds.changes)
}

// unsent forgets the handles sent since mark: their message failed to
// encode, and goes nowhere.
func (vm *VM) unsent(mark int) {
	if h := vm.holds; h != nil && mark <= len(h.changes) {
		h.changes = h.changes[:mark]
	}
}

// Before an operation that only takes what others sent (ops.Decl.Receives:
// Queue.get, Connection.recv, Value.get), the holds of the handles this
// process decoded may wait, up to maxWaitingHolds of them: the tokens of
// received handles keep their objects meanwhile, so a loop of gets costs no
// report per item. Every other call, a send and the process's end report
// them first, in order.

// maxWaitingHolds bounds the changes that wait for a call other than a
// receive.
const maxWaitingHolds = 256

// reportHoldsBefore reports what changed before operation op, unless op is
// a receive, few changes wait and Go has collected no object's userdata: a
// drop goes at once, so that a process that only receives (a loop of gets)
// lets go of what it dropped, a pipe end's socket among it, after each
// collection.
func (vm *VM) reportHoldsBefore(op ops.Op) {
	if h := vm.holds; h != nil && op.Decl().Receives && len(h.changes) < maxWaitingHolds && !h.dropped.any() {
		return
	}
	vm.reportHolds()
}

// reportHolds tells the runtime what changed: the objects received and
// sent, and the objects whose userdata Go has all collected.
func (vm *VM) reportHolds() {
	h := vm.holds
	if h == nil {
		return
	}
	ids := h.dropped.take()
	for _, id := range ids {
		if h.live[id&indexMask]--; h.live[id&indexMask] == 0 {
			h.changes = append(h.changes, HoldChange{ID: id, Held: -1})
		}
	}
	if len(h.changes) == 0 {
		return
	}
	h.holder.Hold(h.changes) // a child's failure shows at its next call
	h.changes = h.changes[:0]
}

// outOfFiles reports whether err says the host has no file descriptor
// left (a pipe holds two there). A child's error has crossed as its text.
func outOfFiles(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		strings.Contains(err.Error(), syscall.EMFILE.Error()) || strings.Contains(err.Error(), syscall.ENFILE.Error())
}

// collectWait bounds the wait for Go's cleanups after a collection.
const collectWait = 2 * time.Second

// collectObjects collects this VM's garbage and reports the objects it no
// longer holds, so that the host frees them (and closes the pipes among
// them): a loop that drops pipes makes them faster than Go collects its
// small heap. It returns false when this VM frees nothing.
func (vm *VM) collectObjects() bool {
	h := vm.holds
	if h == nil {
		return false
	}
	// Cleanups run on a goroutine of their own after the collection: one
	// on an object made for the purpose says when they have run.
	ran := make(chan struct{})
	runtime.AddCleanup(new([16]byte), func(ch chan struct{}) { close(ch) }, ran)
	runtime.GC()
	select {
	case <-ran:
	case <-time.After(collectWait):
	}
	vm.reportHolds()
	return true
}
