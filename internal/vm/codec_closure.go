package vm

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// Closures cross processes as their prototype's place in a recorded chunk,
// their upvalues by value (a cell shared by two closures stays shared), and
// the non-nil globals that they and their nested functions read. The receiver
// compiles the same chunk (fetching its source when it lacks it) and runs none
// of its top-level code.

func (e *encoder) function(fn *lua.LFunction, depth int) error {
	if fn.IsG {
		return e.refuse("a Go function that is not a builtin cannot cross processes")
	}
	if fn.Env != e.vm.L.G.Global {
		return e.refuse(fmt.Sprintf("the function (%s) has its own environment (setfenv), which cannot cross processes", protoWhere(fn.Proto)))
	}
	e.remember(fn)
	e.buf = append(e.buf, tagFunc)
	if err := e.proto(fn.Proto); err != nil {
		return err
	}

	e.uvarint(uint64(len(fn.Upvalues)))
	for i, cell := range fn.Upvalues {
		if n, ok := e.cells[cell]; ok && cell != nil {
			e.uvarint(n + 1)
			continue
		}
		if e.cells == nil {
			e.cells = make(map[*lua.Upvalue]uint64)
		}
		if cell != nil {
			e.cells[cell] = uint64(len(e.cells))
		}
		e.uvarint(0)
		var v lua.LValue = lua.LNil
		if cell != nil {
			v = cell.Value()
		}
		e.push(pathStep{kind: stepUpvalue, name: upvalueName(fn.Proto, i), proto: fn.Proto})
		if err := e.value(v, depth); err != nil {
			return err
		}
		e.pop()
	}

	names := e.vm.globalsRead(fn.Proto)
	globals := e.vm.L.G.Global
	count := 0
	for _, name := range names {
		if e.shipsGlobal(name, globals.RawGetString(name)) {
			count++
		}
	}
	e.uvarint(uint64(count))
	for _, name := range names {
		v := globals.RawGetString(name)
		if !e.shipsGlobal(name, v) {
			continue
		}
		e.str(name)
		e.push(pathStep{kind: stepGlobal, name: name, proto: fn.Proto})
		if err := e.value(v, depth); err != nil {
			return err
		}
		e.pop()
	}
	return nil
}

// shipsGlobal says whether a global a function reads travels with it: not
// when it is nil (the receiver may define it, as a pool initializer does),
// nor when it is the builtin of the same name (the receiver has it), unless
// that is a Go module's table, which the receiver loads when it gets it.
func (e *encoder) shipsGlobal(name string, v lua.LValue) bool {
	if v == lua.LNil {
		return false
	}
	builtin, ok := e.vm.builtins.names[v]
	return !ok || builtin != name || e.vm.goModules[name]
}

func upvalueName(p *lua.FunctionProto, i int) string {
	if i < len(p.DbgUpvalues) {
		return p.DbgUpvalues[i]
	}
	return fmt.Sprintf("#%d", i+1)
}

// proto writes where a prototype sits: its chunk and path.
func (e *encoder) proto(p *lua.FunctionProto) error {
	if n, ok := e.protos[p]; ok {
		e.uvarint(n + 1)
		return nil
	}
	ref, err := e.vm.chunks.refOf(p)
	if err != nil {
		return e.refuse(fmt.Sprintf("the function (%s) cannot be located: %v", protoWhere(p), err))
	}
	if e.protos == nil {
		e.protos = make(map[*lua.FunctionProto]uint64)
		e.chunks = make(map[ChunkID]uint64)
	}
	e.protos[p] = uint64(len(e.protos))
	e.uvarint(0)
	if n, ok := e.chunks[ref.id]; ok {
		e.uvarint(n + 1)
	} else {
		e.chunks[ref.id] = uint64(len(e.chunks))
		e.uvarint(0)
		e.buf = append(e.buf, ref.id[:]...)
	}
	e.uvarint(uint64(len(ref.path)))
	for _, i := range ref.path {
		e.uvarint(uint64(i))
	}
	return nil
}

// globalsRead lists the globals a prototype and its nested prototypes read
// (OP_GETGLOBAL), each once, memoized per prototype.
func (vm *VM) globalsRead(p *lua.FunctionProto) []string {
	if names, ok := vm.globals[p]; ok {
		return names
	}
	seen := make(map[string]bool)
	var names []string
	var scan func(p *lua.FunctionProto)
	scan = func(p *lua.FunctionProto) {
		for _, inst := range p.Code {
			if int(inst>>26) != lua.OP_GETGLOBAL {
				continue
			}
			bx := int(inst & 0x3ffff)
			if bx >= len(p.Constants) {
				continue
			}
			if s, ok := p.Constants[bx].(lua.LString); ok && !seen[string(s)] {
				seen[string(s)] = true
				names = append(names, string(s))
			}
		}
		for _, child := range p.FunctionPrototypes {
			scan(child)
		}
	}
	scan(p)
	vm.globals[p] = names
	return names
}

// function rebuilds a closure: its prototype from the VM's chunk record, a
// fresh cell per shipped cell, and the shipped globals set in the receiver.
func (d *decoder) function(depth int) (lua.LValue, error) {
	p, err := d.proto()
	if err != nil {
		return nil, err
	}
	fn := d.vm.L.NewFunctionFromProto(p)
	d.refs = append(d.refs, fn)

	n, err := d.count()
	if err != nil {
		return nil, err
	}
	if n != uint64(p.NumUpvalues) {
		return nil, fmt.Errorf("function (%s) has %d upvalues, message gives %d", protoWhere(p), p.NumUpvalues, n)
	}
	for i := range fn.Upvalues {
		k, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if k > 0 {
			if k > uint64(len(d.cells)) {
				return nil, fmt.Errorf("upvalue cell %d not defined", k)
			}
			fn.Upvalues[i] = d.cells[k-1]
			continue
		}
		cell := &lua.Upvalue{}
		d.cells = append(d.cells, cell)
		fn.Upvalues[i] = cell
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		cell.SetValue(v)
	}

	n, err = d.count()
	if err != nil {
		return nil, err
	}
	globals := d.vm.L.G.Global
	for ; n > 0; n-- {
		name, err := d.bytes()
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		globals.RawSetString(string(name), v)
	}
	return fn, nil
}

func (d *decoder) proto() (*lua.FunctionProto, error) {
	k, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if k > 0 {
		if k > uint64(len(d.protos)) {
			return nil, fmt.Errorf("function prototype %d not defined", k)
		}
		return d.protos[k-1], nil
	}
	if k, err = d.uvarint(); err != nil {
		return nil, err
	}
	var id ChunkID
	switch {
	case k == 0:
		raw, err := d.take(len(id))
		if err != nil {
			return nil, err
		}
		copy(id[:], raw)
		d.chunks = append(d.chunks, id)
	case k > uint64(len(d.chunks)):
		return nil, fmt.Errorf("chunk %d not defined", k)
	default:
		id = d.chunks[k-1]
	}
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	path := make([]int, n)
	for i := range path {
		step, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if step > 1<<20 {
			return nil, fmt.Errorf("function path step %d out of range", step)
		}
		path[i] = int(step)
	}
	p, err := d.vm.chunks.proto(id, path)
	if err != nil {
		return nil, err
	}
	d.protos = append(d.protos, p)
	return p, nil
}
