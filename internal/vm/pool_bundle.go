package vm

import (
	"encoding/binary"
	"errors"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// A bundle is a pool task that carries several tasks of one function, which the worker
// process runs one after the other and answers in one call: a cluster worker hands a message
// of short tasks to its process so, rather than one call to the process a task. Its bytes are
// the mode byte taskBundle, the budget in microseconds and the bound of its results in bytes
// (uvarints: once the budget has passed since the first task started, or the results have
// grown to the bound, no other task starts), then each task's bytes (see taskMap) after their
// length (a uvarint). Its result is, for each task that ran, in order, the task's outcome as
// a worker reports a task's: its error text, after its length, and its result data (see
// appendTaskResult), after its length plus one (0: none).
const taskBundle = 'B'

// bundleResultBytes bounds the bound of a bundle's results, so that its answer stays about
// within what a call carries (wire.MaxMessage: the codec's limit, which bounds one task's
// result, and a megabyte).
const bundleResultBytes = 1 << 20

// AppendBundle appends to buf the bytes of a bundle of tasks, each as its pool holds it, with
// the given budget and bound of its results (at most bundleResultBytes).
func AppendBundle(buf []byte, budget time.Duration, resultBytes int, tasks [][]byte) []byte {
	buf = append(buf, taskBundle)
	buf = binary.AppendUvarint(buf, uint64(budget.Microseconds()))
	buf = binary.AppendUvarint(buf, uint64(max(resultBytes, 0)))
	for _, t := range tasks {
		buf = binary.AppendUvarint(buf, uint64(len(t)))
		buf = append(buf, t...)
	}
	return buf
}

// BundleOutcome is the outcome of one task of a bundle, as a pool worker reports a task's:
// Err alone when the task could not run, Data alone when it ran without an error, both when
// some of its items raised (Data holds each one's error).
type BundleOutcome struct {
	Err  string
	Data []byte
}

// errMalformedBundle is the error of bundle bytes that do not read.
var errMalformedBundle = errors.New("malformed bundle of pool tasks")

// SplitBundleResult reads the outcomes of the tasks of a bundle that ran, in order. Data
// points into data.
func SplitBundleResult(data []byte) ([]BundleOutcome, error) {
	var outs []BundleOutcome
	for len(data) > 0 {
		errText, rest, ok := cutLength(data, 0)
		if !ok {
			return nil, errMalformedBundle
		}
		result, rest, ok := cutLength(rest, 1)
		if !ok {
			return nil, errMalformedBundle
		}
		outs = append(outs, BundleOutcome{Err: string(errText), Data: result})
		data = rest
	}
	return outs, nil
}

// isBundle reports whether a task's bytes are a bundle's.
func isBundle(data []byte) bool { return len(data) > 0 && data[0] == taskBundle }

// splitBundle reads a bundle's bytes; ok is false when they do not read.
func splitBundle(data []byte) (budget time.Duration, resultBytes int, tasks [][]byte, ok bool) {
	if !isBundle(data) {
		return 0, 0, nil, false
	}
	us, n := binary.Uvarint(data[1:])
	if n <= 0 || us > uint64(time.Hour.Microseconds()) {
		return 0, 0, nil, false
	}
	data = data[1+n:]
	bound, n := binary.Uvarint(data)
	if n <= 0 {
		return 0, 0, nil, false
	}
	for data = data[n:]; len(data) > 0; {
		var task []byte
		if task, data, ok = cutLength(data, 0); !ok {
			return 0, 0, nil, false
		}
		tasks = append(tasks, task)
	}
	return time.Duration(us) * time.Microsecond, int(min(bound, bundleResultBytes)), tasks, true
}

// appendBundleOutcome appends a task's outcome to a bundle's result.
func appendBundleOutcome(buf []byte, errText string, data []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(errText)))
	buf = append(buf, errText...)
	if data == nil {
		return binary.AppendUvarint(buf, 0)
	}
	buf = binary.AppendUvarint(buf, uint64(len(data))+1)
	return append(buf, data...)
}

// cutLength cuts from data bytes after their length, a uvarint less shift (0, or 1 where 0
// stands for none, which gives nil): the bytes, and what follows them.
func cutLength(data []byte, shift uint64) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(data)
	switch {
	case w <= 0:
		return nil, nil, false
	case n == 0 && shift == 1:
		return nil, data[w:], true
	case n-shift > uint64(len(data)-w):
		return nil, nil, false
	}
	end := w + int(n-shift)
	return data[w:end:end], data[end:], true
}

// runBundle runs the tasks of a bundle one after the other, as the pool's worker runs its
// tasks (runOne), and returns their outcomes, or errText when the bundle cannot run. It
// starts no task once the bundle's budget has passed or its result has grown to its bound,
// nor after a task stopped the VM (os.exit): the result lacks them.
func (vm *VM) runBundle(L *lua.LState, fns *workerFunctions, task ObjectReply, where string) (data []byte, errText string) {
	budget, resultBytes, tasks, ok := splitBundle(task.Value.Data)
	if !ok {
		return nil, errMalformedBundle.Error()
	}
	start := time.Now()
	one := task
	for i, t := range tasks {
		if i > 0 && (time.Since(start) >= budget || len(data) >= resultBytes) {
			break
		}
		one.Value = Value{Data: t}
		result, text := vm.runOne(L, fns, one, where)
		if vm.ctx.Err() != nil {
			return nil, text // stopped: nothing more runs here, and the call fails
		}
		data = appendBundleOutcome(data, text, result)
		one.FuncCode = nil // the function, when shipped, is kept by the first
	}
	return data, ""
}
