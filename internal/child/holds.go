package child

import (
	"encoding/binary"
	"errors"

	"github.com/mphost/mphost/internal/ops"
	"github.com/mphost/mphost/internal/vm"
)

// AppendHoldChanges appends changes to b in their wire form: for each, the
// id, then Held and Transit zigzag-encoded, as varints.
func AppendHoldChanges(b []byte, changes []vm.HoldChange) []byte {
	for _, c := range changes {
		b = binary.AppendUvarint(b, c.ID)
		b = binary.AppendVarint(b, int64(c.Held))
		b = binary.AppendVarint(b, int64(c.Transit))
	}
	return b
}

// ParseHoldChanges reads changes written by AppendHoldChanges.
func ParseHoldChanges(b []byte) ([]vm.HoldChange, error) {
	var changes []vm.HoldChange
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errMalformedHolds
		}
		b = b[n:]
		held, n := binary.Varint(b)
		if n <= 0 || held < -1 || held > 1 {
			return nil, errMalformedHolds
		}
		b = b[n:]
		transit, n := binary.Varint(b)
		if n <= 0 || transit != int64(int32(transit)) {
			return nil, errMalformedHolds
		}
		b = b[n:]
		changes = append(changes, vm.HoldChange{ID: id, Held: int8(held), Transit: int32(transit)})
	}
	return changes, nil
}

var errMalformedHolds = errors.New("malformed report of held objects")

var _ vm.Holder = (*Remote)(nil)

// Hold implements vm.Holder: the changes are posted, so they reach the
// host before any later call, put or pipe message of this process (a send
// on a pipe's socket waits for the posted calls to be run). This process
// lets go of what it kept for the objects it no longer holds.
func (r *Remote) Hold(changes []vm.HoldChange) error {
	for _, c := range changes {
		if c.Held < 0 {
			r.forgetObject(c.ID)
		}
	}
	if err := r.Flush(); err != nil {
		return err
	}
	return r.calls.Post(CallToProto(vm.ObjectCall{Op: ops.TransportHolds, Value: vm.Value{Data: AppendHoldChanges(nil, changes)}}))
}

// forgetObject drops what this process learnt of object id, and closes its
// socket if it is a pipe end.
func (r *Remote) forgetObject(id uint64) {
	b := &r.puts
	b.mu.Lock()
	delete(b.unbounded, id)
	delete(b.posting, id)
	delete(b.lockOf, id)
	delete(b.held, id)
	b.mu.Unlock()
	r.closePipe(id)
	r.pipes.mu.Lock()
	delete(r.pipes.ends, id)
	r.pipes.mu.Unlock()
}
