package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mphost/mphost/internal/vm"
)

// clusterTask is one message of a Pool to a cluster worker: one task of the Pool or several
// short ones, run one after the other in one process. It is self-contained, so that any
// worker runs it with no state of the run but the chunks of source it fetches.
type clusterTask struct {
	pool     uint64        // the pool's id on the submitting host: its identity in the run
	init     []byte        // the payload of the pool's workers (pool, initializer, initargs)
	maxTasks int           // maxtasksperchild, per cluster worker process
	timeout  time.Duration // task_timeout, per cluster worker process
	fns      [][]byte      // the encoded functions the items run
	items    []clusterItem
}

// clusterItem is one task of the Pool in a clusterTask.
type clusterItem struct {
	fn   int    // its function, an index in fns
	args []byte // its arguments, as the pool holds them
}

// clusterTaskVersion is the first byte of an encoded clusterTask.
const clusterTaskVersion = 2

// encode appends t: the version; uvarints for pool, maxTasks and timeout; init; the count of
// fns and each; the count of items and each one's fn index and args. Byte strings go with
// their lengths.
func (t clusterTask) encode() []byte {
	size := 32 + len(t.init)
	for _, fn := range t.fns {
		size += 8 + len(fn)
	}
	for _, it := range t.items {
		size += 8 + len(it.args)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, clusterTaskVersion)
	buf = binary.AppendUvarint(buf, t.pool)
	buf = binary.AppendUvarint(buf, uint64(t.maxTasks))
	buf = binary.AppendUvarint(buf, uint64(t.timeout))
	buf = appendBytes(buf, t.init)
	buf = binary.AppendUvarint(buf, uint64(len(t.fns)))
	for _, fn := range t.fns {
		buf = appendBytes(buf, fn)
	}
	buf = binary.AppendUvarint(buf, uint64(len(t.items)))
	for _, it := range t.items {
		buf = binary.AppendUvarint(buf, uint64(it.fn))
		buf = appendBytes(buf, it.args)
	}
	return buf
}

// errNotATask is the error of a payload that is not an encoded clusterTask.
var errNotATask = errors.New("malformed task: not an mphost pool task")

// decodeClusterTask reads what encode wrote. The task refers to data.
func decodeClusterTask(data []byte) (clusterTask, error) {
	if len(data) == 0 || data[0] != clusterTaskVersion {
		return clusterTask{}, errNotATask
	}
	r := byteReader{data: data[1:]}
	t := clusterTask{pool: r.uvarint(), maxTasks: int(r.uvarint()), timeout: time.Duration(r.uvarint()), init: r.bytes()}
	t.fns = make([][]byte, r.count())
	for i := range t.fns {
		t.fns[i] = r.bytes()
	}
	t.items = make([]clusterItem, r.count())
	for i := range t.items {
		fn := r.uvarint()
		if fn >= uint64(len(t.fns)) {
			r.bad = true
		}
		t.items[i] = clusterItem{fn: int(fn), args: r.bytes()}
	}
	if r.bad || len(r.data) > 0 || len(t.items) == 0 {
		return clusterTask{}, errNotATask
	}
	return t, nil
}

// clusterResult is what a cluster worker returns for a clusterTask: the results of its items
// in order, up to the first whose process died (the last then), or all of them.
type clusterResult struct {
	elapsed time.Duration // how long the items reported took to run, all told
	items   []itemResult
}

// itemResult is the result of one item of a clusterTask.
type itemResult struct {
	died bool   // its process died: it was not run to its end
	err  string // its error, or why its process died
	data []byte
}

// encode appends r: the version, elapsed, the count of items, and each one's died flag,
// error text and data.
func (r clusterResult) encode() []byte {
	buf := []byte{clusterTaskVersion}
	buf = binary.AppendUvarint(buf, uint64(r.elapsed))
	buf = binary.AppendUvarint(buf, uint64(len(r.items)))
	for _, it := range r.items {
		died := byte(0)
		if it.died {
			died = 1
		}
		buf = append(buf, died)
		buf = appendBytes(buf, []byte(it.err))
		buf = appendBytes(buf, it.data)
	}
	return buf
}

// decodeClusterResult reads what encode wrote. The result refers to data. A result of no
// items is refused: the run would send its tasks again for ever.
func decodeClusterResult(data []byte) (clusterResult, error) {
	if len(data) == 0 || data[0] != clusterTaskVersion {
		return clusterResult{}, errNotAResult
	}
	r := byteReader{data: data[1:]}
	res := clusterResult{elapsed: time.Duration(r.uvarint()), items: make([]itemResult, r.count())}
	for i := range res.items {
		died := r.byte()
		res.items[i] = itemResult{died: died == 1, err: string(r.bytes()), data: r.bytes()}
	}
	if r.bad || len(r.data) > 0 || len(res.items) == 0 {
		return clusterResult{}, errNotAResult
	}
	return res, nil
}

// errNotAResult is the error of a result that is not an encoded clusterResult.
var errNotAResult = errors.New("malformed result from the cluster worker")

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// byteReader reads what clusterTask's and clusterResult's encode wrote; bad sticks once a
// read fails.
type byteReader struct {
	data []byte
	bad  bool
}

func (r *byteReader) uvarint() uint64 {
	n, size := binary.Uvarint(r.data)
	if size <= 0 {
		r.bad, r.data = true, nil
		return 0
	}
	r.data = r.data[size:]
	return n
}

// count reads a count of things that each take at least a byte, so that a wrong one does not
// make a huge slice.
func (r *byteReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.data)) {
		r.bad, r.data = true, nil
		return 0
	}
	return int(n)
}

func (r *byteReader) byte() byte {
	if len(r.data) == 0 {
		r.bad = true
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *byteReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.data)) {
		r.bad, r.data = true, nil
		return nil
	}
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
}

// refuseHandles is the error of what (the function, the arguments...) of a Pool's task on a
// cluster when data carries the handle of a host object, but the pool's own: cluster workers
// run on other machines, where the host's objects are not.
func refuseHandles(what string, data []byte, pool uint64) error {
	kinds, ids, _ := vm.HandleKinds(data)
	var named []string
	for i, kind := range kinds {
		if kind == "Pool" && ids[i] == pool {
			continue
		}
		article := "a "
		if strings.ContainsAny(kind[:min(1, len(kind))], "AEIOU") {
			article = "an "
		}
		named = append(named, article+kind)
	}
	if len(named) == 0 {
		return nil
	}
	return fmt.Errorf("%s carry %s: cluster workers cannot reach the objects of this run", what, strings.Join(named, " and "))
}
