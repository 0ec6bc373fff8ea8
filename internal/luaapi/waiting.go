package luaapi

import (
	"fmt"
	"strings"

	"github.com/mphost/mphost/internal/ops"
)

// Waiting is how a function or method waits, as the API reference says
// it and the tests hold the bindings to it.
type Waiting struct {
	Waits bool // it may wait
	// Timeout: a timeout parameter bounds the wait.
	Timeout bool
	// Iterator: the call returns an iterator whose steps wait, and does
	// not wait itself.
	Iterator bool
	// Op is the object operation it waits in (or performs without waiting,
	// with NoWait); None for a function that performs none.
	Op ops.Op
}

// Waiting says how f waits: f is a function of the module when c is nil,
// else a method of class c. A method waits when the object operation it
// performs blocks (ops.Decl.Blocks) and it does not declare NoWait; that
// operation is f.Op, or by default the one of f's name on c's kind, if
// there is one. A function that waits outside the object operations
// declares Waits.
func (m *Module) Waiting(c *Class, f *Func) Waiting {
	op, _ := m.OpOf(c, f)
	w := Waiting{Op: op, Waits: f.Waits || (op.Decl().Blocks && !f.NoWait)}
	for _, p := range f.Params {
		w.Timeout = w.Timeout || p.Name == "timeout"
	}
	w.Iterator = len(f.Returns) > 0 && strings.HasPrefix(f.Returns[0].Type, "fun(")
	return w
}

// OpOf is the object operation that method f of class c performs: f.Op,
// which must be declared, or the operation of f's name on c's kind, or
// None (ok) when c's kind has no operation of that name. A function of
// the module (c nil) performs none.
func (m *Module) OpOf(c *Class, f *Func) (op ops.Op, err error) {
	if f.Op != "" {
		kind, name, _ := strings.Cut(f.Op, ".")
		op, ok := ops.Find(kind, name)
		if !ok {
			return ops.None, fmt.Errorf("%s declares operation %q, which internal/ops does not", f.Name, f.Op)
		}
		return op, nil
	}
	if c == nil {
		return ops.None, nil
	}
	op, _ = ops.Find(c.Name, f.Name)
	return op, nil
}
