package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mphost/mphost/internal/vm"
)

// clusterTask is one task of a Pool as it travels to a cluster worker: self-contained, so that
// any worker runs it with no state of the run but the chunks of source it fetches.
type clusterTask struct {
	pool     uint64        // the pool's id on the submitting host: its identity in the run
	init     []byte        // the payload of the pool's workers (pool, initializer, initargs)
	maxTasks int           // maxtasksperchild, per cluster worker process
	timeout  time.Duration // task_timeout, per cluster worker process
	fn       []byte        // the function's encoded bytes
	args     []byte        // the task's arguments, as the pool holds them
}

// clusterTaskVersion is the first byte of an encoded clusterTask.
const clusterTaskVersion = 1

// encode appends t: the version, uvarints for pool, maxTasks and timeout, init and fn with
// their lengths, then args to the end.
func (t clusterTask) encode() []byte {
	buf := make([]byte, 0, 32+len(t.init)+len(t.fn)+len(t.args))
	buf = append(buf, clusterTaskVersion)
	buf = binary.AppendUvarint(buf, t.pool)
	buf = binary.AppendUvarint(buf, uint64(t.maxTasks))
	buf = binary.AppendUvarint(buf, uint64(t.timeout))
	buf = binary.AppendUvarint(buf, uint64(len(t.init)))
	buf = append(buf, t.init...)
	buf = binary.AppendUvarint(buf, uint64(len(t.fn)))
	buf = append(buf, t.fn...)
	return append(buf, t.args...)
}

// errNotATask is the error of a payload that is not an encoded clusterTask.
var errNotATask = errors.New("malformed task: not an mphost pool task")

// decodeClusterTask reads what encode wrote. The task refers to data.
func decodeClusterTask(data []byte) (clusterTask, error) {
	if len(data) == 0 || data[0] != clusterTaskVersion {
		return clusterTask{}, errNotATask
	}
	data = data[1:]
	var nums [3]uint64
	for i := range nums {
		n, size := binary.Uvarint(data)
		if size <= 0 {
			return clusterTask{}, errNotATask
		}
		nums[i], data = n, data[size:]
	}
	var parts [2][]byte
	for i := range parts {
		n, size := binary.Uvarint(data)
		if size <= 0 || n > uint64(len(data)-size) {
			return clusterTask{}, errNotATask
		}
		parts[i], data = data[size:size+int(n)], data[size+int(n):]
	}
	return clusterTask{pool: nums[0], maxTasks: int(nums[1]), timeout: time.Duration(nums[2]),
		init: parts[0], fn: parts[1], args: data}, nil
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
