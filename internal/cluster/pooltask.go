package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// PoolTask is the payload of a task that a Pool of a run sends to the cluster: one task of the
// Pool, or several short ones of one function, which a worker runs one after the other in one
// process. It carries what any worker needs to run it with no state of the run but the chunks
// of source it fetches.
type PoolTask struct {
	Pool     uint64        // the pool's id on the submitting host: its identity in the run
	Init     []byte        // the payload of the pool's processes (initializer, initargs)
	MaxTasks int           // maxtasksperchild, per worker process
	Timeout  time.Duration // task_timeout, per worker process
	Func     []byte        // the encoded function its items run
	Items    [][]byte      // the arguments of each task of the Pool, as the pool holds them
}

// PoolResult is what a worker returns for a PoolTask: the results of its items, in order.
type PoolResult struct {
	Elapsed time.Duration // how long the items reported took to run, all told
	Items   []ItemResult
}

// ItemResult is the result of one item of a PoolTask.
type ItemResult struct {
	Died bool   // its process died: it was not run to its end
	Err  string // its error, or why its process died
	Data []byte
}

// The errors of DecodePoolTask and DecodePoolResult: a task or result that some other program
// sent, or that was cut, says so; the detail would not help its reader.
var (
	errNotAPoolTask   = errors.New("malformed task: not an mphost pool task")
	errNotAPoolResult = errors.New("malformed result from the cluster worker: not the result of an mphost pool task")
)

// poolTaskLayout is the first byte of an encoded PoolTask or PoolResult.
const poolTaskLayout = 3

// Append appends t to buf: the layout byte; uvarints for Pool, MaxTasks and Timeout; Init;
// Func; the count of Items and each. Byte strings go with their lengths.
func (t PoolTask) Append(buf []byte) []byte {
	buf = append(buf, poolTaskLayout)
	buf = binary.AppendUvarint(buf, t.Pool)
	buf = binary.AppendUvarint(buf, uint64(t.MaxTasks))
	buf = binary.AppendUvarint(buf, uint64(t.Timeout))
	buf = appendBytes(buf, t.Init)
	buf = appendBytes(buf, t.Func)
	buf = binary.AppendUvarint(buf, uint64(len(t.Items)))
	for _, args := range t.Items {
		buf = appendBytes(buf, args)
	}
	return buf
}

// DecodePoolTask reads what Append wrote; the task refers to data. A task of no items is
// malformed.
func DecodePoolTask(data []byte) (PoolTask, error) {
	d := decoder{data: data}
	d.layout(poolTaskLayout)
	t := PoolTask{Pool: d.uvarint(), MaxTasks: int(d.uvarint()), Timeout: time.Duration(d.uvarint()), Init: d.bytes(), Func: d.bytes()}
	t.Items = make([][]byte, d.count())
	for i := range t.Items {
		t.Items[i] = d.bytes()
	}
	if d.end(); d.err == nil && len(t.Items) == 0 {
		d.err = fmt.Errorf("%w: a pool task of no items", errMalformed)
	}
	if d.err != nil {
		return PoolTask{}, errNotAPoolTask
	}
	return t, nil
}

// Append appends r to buf: the layout byte, Elapsed, the count of Items, and each one's Died
// flag, Err and Data.
func (r PoolResult) Append(buf []byte) []byte {
	buf = append(buf, poolTaskLayout)
	buf = binary.AppendUvarint(buf, uint64(r.Elapsed))
	buf = binary.AppendUvarint(buf, uint64(len(r.Items)))
	for _, it := range r.Items {
		died := byte(0)
		if it.Died {
			died = 1
		}
		buf = append(buf, died)
		buf = appendString(buf, it.Err)
		buf = appendBytes(buf, it.Data)
	}
	return buf
}

// DecodePoolResult reads what Append wrote; the result refers to data. A result of no items is
// malformed: its run would send the items again for ever.
func DecodePoolResult(data []byte) (PoolResult, error) {
	d := decoder{data: data}
	d.layout(poolTaskLayout)
	r := PoolResult{Elapsed: time.Duration(d.uvarint()), Items: make([]ItemResult, d.count())}
	for i := range r.Items {
		r.Items[i] = ItemResult{Died: d.byte() == 1, Err: d.string(), Data: d.bytes()}
	}
	if d.end(); d.err == nil && len(r.Items) == 0 {
		d.err = fmt.Errorf("%w: a result of no items", errMalformed)
	}
	if d.err != nil {
		return PoolResult{}, errNotAPoolResult
	}
	return r, nil
}
