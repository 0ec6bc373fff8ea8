package vm

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"weak"

	lua "github.com/yuin/gopher-lua"
)

// This file is the errors of pool tasks: how a worker reports the items
// that raised, how the caller raises them (the error value itself, a copy,
// when it can cross processes, as Python re-raises the exception object),
// and how an uncaught error reads (ErrorText).

// workerFailure is an item of a task that raised, as the worker reports it:
// its index in the task, its error's text with the worker's traceback, and
// the encoded error value when that is not a string and can cross
// processes.
type workerFailure struct {
	item  int
	text  string
	value []byte
}

// workerFailure describes the error err that item raised. A value that
// cannot cross processes is described by its text and the reason.
func (vm *VM) workerFailure(item int, err *Error) workerFailure {
	f := workerFailure{item: item, text: ErrorText(err)}
	switch err.Value.(type) {
	case nil, *lua.LNilType, lua.LString:
		return f
	}
	data, encErr := vm.Encode("error", err.Value)
	if encErr != nil {
		f.text = withTraceback(fmt.Sprintf("%s (%v)", errorMessage(err), encErr), err.Traceback)
		return f
	}
	f.value = data
	return f
}

// appendTaskResult encodes what a task gave: the list of its items' first
// results, followed, for each item that raised, by three values: its index
// (from 1), its error's text and its encoded error value (nil when there is
// none). The caller, who knows how many items the task had, tells them
// apart (poolBatch.outcome).
func (vm *VM) appendTaskResult(buf []byte, results []lua.LValue, failures []workerFailure) ([]byte, error) {
	if len(failures) > 0 {
		results = slices.Clone(results)
		for _, f := range failures {
			var value lua.LValue = lua.LNil
			if f.value != nil {
				value = lua.LString(f.value)
			}
			results = append(results, lua.LNumber(f.item+1), lua.LString(f.text), value)
		}
	}
	return vm.appendList(buf, "result", results)
}

// itemError is the error of an item whose task failed, as its caller
// raises it: the value the item raised, a copy, when it crossed processes,
// and its text, with the worker's traceback.
type itemError struct {
	value lua.LValue // nil: the error is its text
	text  string
}

// taskOutcome is what a finished task gave its caller: the first result of
// each item, and the errors of the items that failed.
type taskOutcome struct {
	values []lua.LValue
	errs   map[int]*itemError // by index in values
}

// firstError is the error of the first item that failed, or nil.
func (o taskOutcome) firstError() *itemError {
	for i := range o.values {
		if e := o.errs[i]; e != nil {
			return e
		}
	}
	return nil
}

// outcome reads a task's reply. A task that the pool failed as a whole (its
// worker died, it ran past task_timeout, its result could not be sent)
// fails each of its items with the pool's text.
func (b *poolBatch) outcome(L *lua.LState, task uint64, r ObjectReply) taskOutcome {
	n := b.counts[task]
	var list []lua.LValue
	if r.Status != "error" || len(r.Value.Data) != 0 {
		var err error
		if list, err = b.vm.decodeList(r.Value.Data); err != nil {
			L.RaiseError("%s: %v", b.fname, err)
		}
		if r.Status != "error" && len(list) == n {
			return taskOutcome{values: list}
		}
	}
	o := taskOutcome{values: make([]lua.LValue, n)}
	for i := range o.values {
		o.values[i] = lua.LNil
	}
	if list == nil {
		o.failAll(r.ErrText)
		return o
	}
	copy(o.values, list)
	if r.Status != "error" {
		return o
	}
	o.errs = map[int]*itemError{}
	for rest := list[min(n, len(list)):]; len(rest) >= 3; rest = rest[3:] {
		k, ok := rest[0].(lua.LNumber)
		if !ok || int(k) < 1 || int(k) > n {
			continue
		}
		e := &itemError{text: lua.LVAsString(rest[1])}
		if data, ok := rest[2].(lua.LString); ok {
			if v, err := b.vm.Decode([]byte(data)); err != nil {
				e.text = fmt.Sprintf("%s (the error value: %v)", e.text, err)
			} else {
				e.value = v
			}
		}
		o.errs[int(k)-1] = e
	}
	if len(o.errs) == 0 {
		o.failAll(r.ErrText)
	}
	return o
}

// failAll fails every item with text.
func (o *taskOutcome) failAll(text string) {
	e := &itemError{text: text}
	o.errs = make(map[int]*itemError, len(o.values))
	for i := range o.values {
		o.errs[i] = e
	}
}

// raise raises an item's error in the caller: the error value itself when
// it crossed (remembered with its text, for ErrorText), else its text after
// the method's name.
func (b *poolBatch) raise(L *lua.LState, task uint64, e *itemError) {
	if e.value != nil {
		where := L.Where(1) // "file:line:", as RaiseError puts it before a message
		if where != "" {
			where += " "
		}
		rememberRemote(e.value, where+b.fname+": "+e.text)
		L.Error(e.value, 0)
	}
	L.RaiseError("%s", b.errorText(task, e.text))
}

// errorValue is what an error callback receives: the error value when it
// crossed, else the error's text after the method's name.
func (b *poolBatch) errorValue(task uint64, e *itemError) lua.LValue {
	if e.value != nil {
		return e.value
	}
	return lua.LString(b.errorText(task, e.text))
}

// remoteErrors holds, for each error table that a pool task raised and its
// caller received, its text as the caller read it: the pool method, the
// worker's message and traceback. ErrorText prints it should the table go
// uncaught. An entry goes when Go collects its table.
var remoteErrors = struct {
	sync.Mutex
	texts map[weak.Pointer[lua.LTable]]string
}{texts: map[weak.Pointer[lua.LTable]]string{}}

// rememberRemote records the text of an error value a task raised. Only
// tables are recorded: other values have no identity to find them by.
func rememberRemote(v lua.LValue, text string) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return
	}
	k := weak.Make(t)
	remoteErrors.Lock()
	defer remoteErrors.Unlock()
	if _, known := remoteErrors.texts[k]; !known {
		runtime.AddCleanup(t, forgetRemote, k)
	}
	remoteErrors.texts[k] = text
}

func forgetRemote(k weak.Pointer[lua.LTable]) {
	remoteErrors.Lock()
	delete(remoteErrors.texts, k)
	remoteErrors.Unlock()
}

// remoteText is the text rememberRemote recorded for v.
func remoteText(v lua.LValue) (string, bool) {
	t, ok := v.(*lua.LTable)
	if !ok {
		return "", false
	}
	remoteErrors.Lock()
	defer remoteErrors.Unlock()
	text, ok := remoteErrors.texts[weak.Make(t)]
	return text, ok
}

// ErrorText is an uncaught error as the script author reads it: its
// message (errorMessage), then its Lua traceback when it has one. The
// embedding program prints it for the main script, a child for its own.
func ErrorText(err error) string {
	if luaErr, ok := err.(*Error); ok {
		return withTraceback(errorMessage(luaErr), luaErr.Traceback)
	}
	return err.Error()
}

// ErrorMessage is an uncaught error's message as the script author reads
// it: an error table as its fields, a pool task's error as its caller
// received it.
func ErrorMessage(e *Error) string { return errorMessage(e) }

func withTraceback(msg, traceback string) string {
	if traceback == "" {
		return msg
	}
	return msg + "\n" + traceback
}

// errorMessage is the message of an uncaught error. An error table that a
// pool task raised reads as its caller received it, with the worker's
// traceback; any other table without __tostring reads as its fields
// (describeValue); numbers and booleans as themselves.
func errorMessage(e *Error) string {
	if text, ok := remoteText(e.Value); ok {
		return text
	}
	switch v := e.Value.(type) {
	case lua.LNumber, lua.LBool:
		return v.String()
	case *lua.LTable:
		if mt, ok := v.Metatable.(*lua.LTable); !ok || mt.RawGetString("__tostring") == lua.LNil {
			return describeValue(v, 0)
		}
	}
	return e.Message
}

// describedFields bounds the fields describeValue shows of one table, and
// describedDepth how deep it looks into nested tables.
const (
	describedFields = 16
	describedDepth  = 2
)

// describeValue shows a value in an error message: strings quoted, numbers
// and booleans as Lua prints them, tables as their fields, {1, 2, code =
// 42, msg = "bad"} (the array part first, then the other keys in order),
// other values by their type.
func describeValue(v lua.LValue, depth int) string {
	switch v := v.(type) {
	case lua.LString:
		return strconv.Quote(string(v))
	case lua.LNumber, lua.LBool, *lua.LNilType:
		return v.String()
	case *lua.LTable:
		return describeTable(v, depth)
	}
	return v.Type().String()
}

func describeTable(t *lua.LTable, depth int) string {
	if depth >= describedDepth {
		return "{...}"
	}
	var parts []string
	n := t.Len()
	for i := 1; i <= n; i++ {
		parts = append(parts, describeValue(t.RawGetInt(i), depth+1))
	}
	type field struct{ key, value string }
	var fields []field
	t.ForEach(func(k, v lua.LValue) {
		if i, ok := k.(lua.LNumber); ok && float64(i) >= 1 && float64(i) <= float64(n) && float64(i) == float64(int(i)) {
			return // in the array part, shown above
		}
		key := "[" + describeValue(k, describedDepth) + "]"
		if s, ok := k.(lua.LString); ok && isIdentifier(string(s)) {
			key = string(s)
		}
		fields = append(fields, field{key, describeValue(v, depth+1)})
	})
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.key, b.key) })
	for _, f := range fields {
		parts = append(parts, f.key+" = "+f.value)
	}
	if len(parts) > describedFields {
		parts = append(parts[:describedFields], "...")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
