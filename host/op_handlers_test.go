package host

import (
	"testing"

	"github.com/mphost/mphost/internal/ops"
)

// TestEveryOpHasAHandler: each row of ops.Table is served by a handler, so
// that adding an operation is a row and a handler.
func TestEveryOpHasAHandler(t *testing.T) {
	for op := ops.None + 1; op < ops.NumOps; op++ {
		if handlers[op] == nil {
			t.Errorf("%s (op %d) has no handler in host/op_handlers.go", op, op)
		}
	}
}
