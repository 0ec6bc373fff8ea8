package cluster

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/nats-io/nats.go"
)

// What a task prints goes to its run in whole lines on mphost.v<V>.output.<run> (core NATS,
// from the worker's one connection, so in order per task): each message is the task's id, the
// stream (stdout or stderr) and one or more whole lines. The run writes each message's lines
// to RunConfig.Stdout or Stderr with one Write. A message published while no server holds the
// run's subscription is lost, so while the worker's connection is down, and after it came
// back until the run is known to listen again, messages go as requests that the run answers
// (askRun): sent again until it does.

// maxOutputMessage is the most bytes of lines one output message carries; a longer line is cut
// in pieces of this size, each ended by a newline.
const maxOutputMessage = 64 << 10

// The streams of an output message.
const (
	streamStdout = 1
	streamStderr = 2
)

// OutputWriter relays what a task writes to its run, in whole lines. Make one with
// Conn.TaskOutput for each task and stream; Close it when the task ends, before its result is
// given, to send a last line that has no newline. Safe for concurrent use.
type OutputWriter struct {
	c      *Conn
	run    string
	subj   string
	header []byte // the task's id and the stream

	mu      sync.Mutex
	pending []byte // the start of a line not ended yet
	heard   uint64 // c.reconnects when the run was last known to listen
}

// TaskOutput returns the writer of t's stdout, or of its stderr when stderr is set.
func (c *Conn) TaskOutput(t Task, stderr bool) *OutputWriter {
	stream := byte(streamStdout)
	if stderr {
		stream = streamStderr
	}
	header := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(c.version)), t.ID)
	return &OutputWriter{c: c, run: t.Run, subj: c.subject(kindOutput, t.Run), header: append(header, stream), heard: c.reconnects.Load()}
}

// Write sends the whole lines of p, with the start of a line written before; it keeps the
// rest for the next Write or Close. It fails only when the connection is closed.
func (o *OutputWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, p...)
	start := 0
	for {
		rest := o.pending[start:]
		n := bytes.LastIndexByte(rest[:min(len(rest), maxOutputMessage)], '\n') + 1
		var err error
		switch {
		case n > 0:
			err = o.publish(rest[:n])
		case len(rest) < maxOutputMessage:
			o.pending = append(o.pending[:0], rest...)
			return len(p), nil
		default: // a line longer than a message: a piece of it goes as a line
			n = maxOutputMessage
			err = o.publish(append(rest[:n:n], '\n'))
		}
		if err != nil {
			return 0, err
		}
		start += n
	}
}

// publish sends lines as one message; o.mu is held.
func (o *OutputWriter) publish(lines []byte) error {
	data := append(o.header[:len(o.header):len(o.header)], lines...)
	reconnects := o.c.reconnects.Load()
	if reconnects == o.heard && o.c.nc.IsConnected() {
		return o.c.nc.Publish(o.subj, data)
	}
	if _, err := o.c.askRun(kindOutput, o.run, data); err != nil {
		if o.c.nc.IsClosed() {
			return err
		}
		return nil // the run is gone, or does not answer within askWait: the lines are lost
	}
	o.heard = reconnects
	return nil
}

// Close sends the line begun and not ended, with a newline.
func (o *OutputWriter) Close() error {
	o.mu.Lock()
	rest := len(o.pending)
	o.mu.Unlock()
	if rest == 0 {
		return nil
	}
	_, err := o.Write([]byte{'\n'})
	return err
}

// onOutput writes the lines of an output message to the run's writer of their stream.
func (r *Run) onOutput(msg *nats.Msg) {
	d := decoder{data: msg.Data}
	version := int(d.uvarint())
	d.uvarint() // the task's id
	rest := d.rest()
	if d.err != nil || version != r.c.version || len(rest) < 2 {
		return
	}
	w := r.cfg.Stdout
	if rest[0] == streamStderr {
		w = r.cfg.Stderr
	}
	if w != nil {
		_, _ = w.Write(rest[1:])
	}
	if msg.Reply != "" {
		_ = msg.Respond(nil)
	}
}
