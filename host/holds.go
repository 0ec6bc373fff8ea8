package host

import (
	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// Each copy of a handle in an encoded message holds its object while the
// message travels (a token, taken by the sender's VM as it encodes). The
// receiver's VM turns the token into its own hold as it decodes the
// message. What the host hands over or drops itself, it settles here, with
// vm.HandleIDs: the package objects keeps messages as opaque bytes.

// carriedChanges are the changes of holds for each handle that data
// carries: held (+1 or 0) and transit (-1 or 0) each. Malformed bytes carry
// nothing.
func carriedChanges(data []byte, held int8, transit int32) []objects.Change {
	ids, _ := vm.HandleIDs(data)
	if len(ids) == 0 {
		return nil
	}
	changes := make([]objects.Change, len(ids))
	for i, id := range ids {
		changes[i] = objects.Change{ID: id, Held: held, Transit: transit}
	}
	return changes
}

// deliverCarried makes owner a holder of the objects whose handles data,
// a process's payload, carries, as the host hands it over: a process holds
// what it is sent from that moment, whether it lives to decode it or not.
// With tokens (a Process's payload, delivered once) each token becomes the
// hold; without (a pool's worker payload, which each worker gets) the
// payload keeps its tokens.
func (h *Host) deliverCarried(owner objects.Owner, data []byte, tokens bool) {
	var transit int32
	if tokens {
		transit = -1
	}
	if changes := carriedChanges(data, 1, transit); changes != nil {
		h.objects.Adjust(owner, changes)
	}
}

// dropCarried lets go of the tokens that data, a message dropped undecoded,
// holds: the Registry's OnDrop, and a payload no process got.
func (h *Host) dropCarried(data []byte) {
	if changes := carriedChanges(data, 0, -1); changes != nil {
		h.objects.Adjust(objects.MainScript, changes)
	}
}

// undelivered lets go of the tokens of a payload that no process got: a
// Process's (a pool's payload keeps its own for the next worker).
func (h *Host) undelivered(payload []byte, pool *objects.Pool) {
	if pool == nil {
		h.dropCarried(payload)
	}
}

// freed is the Registry's OnFree, run under its lock before id's index is
// handed out again: the index's slot starts clear for the next object (a
// tally counts from 0), and a freed pool is forgotten.
func (h *Host) freed(id uint64) {
	if h.values != nil {
		if w := h.values.Word(id); w != nil {
			w.Store(0)
		}
	}
	h.poolFreed(id)
}
