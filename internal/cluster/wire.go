package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ProtocolVersion is the version of the task protocol: the names of the streams and subjects
// and the layout of tasks and results. Workers take only the tasks of their own version.
const ProtocolVersion = 4

// AckWait is how long a task's claim lasts without a sign of life from its worker: what a
// lost worker costs. It is part of the protocol, a setting of the consumer that all workers
// of a version share, made by the first to need it; workers keep their claims alive at the
// rate the consumer says.
const AckWait = 5 * time.Second

// RunTTL is how long a run's heartbeat entry lives without being renewed: a run that ends
// without Close (killed, machine gone) is known as gone that long after its last heartbeat,
// and workers then drop its tasks. Part of the protocol, as AckWait.
const RunTTL = 30 * time.Second

// tasksMaxAge bounds how long a task waits on the server: the backstop for the tasks of a run
// gone when no worker was there to drop them.
const tasksMaxAge = 24 * time.Hour

// maxPayload is the largest message the embedded server takes.
const maxPayload = 8 << 20

// Task is one task as a worker's callback gets it.
type Task struct {
	Run     string // the run that submitted it
	ID      uint64 // its id in the run, from 1
	Payload []byte // the bytes given to Submit
	// Delivery counts the times the task was handed to a worker, this one included.
	Delivery int
}

// Result is the outcome of a task, as Run.Next returns it.
type Result struct {
	Task   uint64 // the task's id
	Data   []byte // the bytes the callback returned, even with Err
	Err    string // the callback's error, or why the task was not run; empty on success
	Worker string // the worker that ran it, such as "host.example:1234"
}

// errMalformed is wrapped by the decoders' errors.
var errMalformed = errors.New("malformed message")

// appendTask encodes a task: version, run id, task id, payload.
func appendTask(buf []byte, version int, run string, id uint64, payload []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(version))
	buf = appendString(buf, run)
	buf = binary.AppendUvarint(buf, id)
	return append(buf, payload...)
}

// decodeTask decodes what appendTask made. It checks the version before the rest, so a task
// of another version is told apart from a malformed one.
func decodeTask(data []byte) (version int, t Task, err error) {
	d := decoder{data: data}
	version = int(d.uvarint())
	t.Run = d.string()
	t.ID = d.uvarint()
	t.Payload = d.rest()
	return version, t, d.err
}

// appendResult encodes a result: version, task id, worker, error text, data.
func appendResult(buf []byte, version int, r Result) []byte {
	buf = binary.AppendUvarint(buf, uint64(version))
	buf = binary.AppendUvarint(buf, r.Task)
	buf = appendString(buf, r.Worker)
	buf = appendString(buf, r.Err)
	return append(buf, r.Data...)
}

// decodeResult decodes what appendResult made.
func decodeResult(data []byte) (version int, r Result, err error) {
	d := decoder{data: data}
	version = int(d.uvarint())
	r.Task = d.uvarint()
	r.Worker = d.string()
	r.Err = d.string()
	r.Data = d.rest()
	return version, r, d.err
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// decoder reads what the append functions wrote; its first error sticks.
type decoder struct {
	data []byte
	err  error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad number", errMalformed)
		return 0
	}
	d.data = d.data[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

// bytes reads a byte string with its length; the slice refers to the data.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.data)) {
		d.err = fmt.Errorf("%w: a string of %d bytes in %d", errMalformed, n, len(d.data))
	}
	if d.err != nil {
		return nil
	}
	b := d.data[:n:n]
	d.data = d.data[n:]
	return b
}

// count reads the count of what follows, each of which takes a byte at least, so that a wrong
// count does not make a huge slice.
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.data)) {
		d.err = fmt.Errorf("%w: %d things in %d bytes", errMalformed, n, len(d.data))
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if d.err == nil && len(d.data) == 0 {
		d.err = fmt.Errorf("%w: a byte missing", errMalformed)
	}
	if d.err != nil {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

// layout reads the first byte, which must be want.
func (d *decoder) layout(want byte) {
	if got := d.byte(); d.err == nil && got != want {
		d.err = fmt.Errorf("%w: layout %d, not %d", errMalformed, got, want)
	}
}

// end checks that nothing is left.
func (d *decoder) end() {
	if d.err == nil && len(d.data) > 0 {
		d.err = fmt.Errorf("%w: %d bytes too many", errMalformed, len(d.data))
	}
}

func (d *decoder) rest() []byte {
	if d.err != nil {
		return nil
	}
	b := d.data
	d.data = nil
	return b
}

// appendTaken encodes the notice that a worker took task id.
func appendTaken(buf []byte, id uint64) []byte { return binary.AppendUvarint(buf, id) }

// decodeTaken decodes what appendTaken made.
func decodeTaken(data []byte) (uint64, error) {
	d := decoder{data: data}
	return d.uvarint(), d.err
}
