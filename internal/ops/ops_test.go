package ops

import "testing"

// TestTableIsWhole: every Op has a row with a name and a kind, each
// (kind, name) names one Op, and the posting rules fit the replies: an op
// posted when held names its lock, one a child batches is a put.
func TestTableIsWhole(t *testing.T) {
	for op := None + 1; op < NumOps; op++ {
		d := op.Decl()
		if d.Name == "" || len(d.Kinds) == 0 {
			t.Fatalf("op %d has no row", op)
		}
		for _, kind := range d.Kinds {
			if found, ok := Find(kind, d.Name); !ok || found != op {
				t.Errorf("%s.%s finds op %d, want %d", kind, d.Name, found, op)
			}
		}
		if (d.Post == WhenHeld || d.Hold != 0) && !d.Reply.Has(Lock) {
			t.Errorf("%s: a hold counted without the lock in its reply", op)
		}
		if d.Post != Never && d.Post != WhenHeld && d.Reply&^(Lock) != 0 && d.Post != Batched {
			t.Errorf("%s: posted, yet its reply carries %b", op, d.Reply)
		}
	}
	if _, ok := Find("Lock", "advance"); ok {
		t.Error("Find found an undeclared op")
	}
}
