package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/mphost/mphost/internal/vm"
)

// A task's closures travel as references to the chunks of source they were compiled from
// (internal/vm's ChunkStore): a worker fetches the chunks it lacks from the run that submitted
// the task, and publishes to it those it loaded itself and sends back in a result. The run
// answers on mphost.v<V>.chunks.<run> (request and reply, core NATS) from RunConfig.Chunks.

// The operations of a chunk request, its byte after the version.
const (
	chunkFetch   = 'f' // then the chunk's id
	chunkPublish = 'p' // then the chunk's name and source
)

// The first byte of a chunk reply.
const (
	chunkOK     = 0 // then the chunk's name and source for a fetch, nothing for a publish
	chunkFailed = 1 // then the error's text
)

// RunChunks returns the chunk store of run for a worker's VMs: it asks the run for the
// chunks they lack, and gives it the chunks they load. Safe for concurrent use.
func (c *Conn) RunChunks(run string) vm.ChunkStore {
	return runChunks{c: c, run: run}
}

type runChunks struct {
	c   *Conn
	run string
}

// Fetch implements vm.ChunkStore.
func (s runChunks) Fetch(id vm.ChunkID) (vm.Chunk, error) {
	req := appendChunkOp(nil, s.c.version, chunkFetch)
	reply, err := s.request(append(req, id[:]...))
	if err != nil {
		return vm.Chunk{}, err
	}
	d := decoder{data: reply}
	chunk := vm.Chunk{Name: d.string(), Source: string(d.rest())}
	if d.err != nil {
		return vm.Chunk{}, fmt.Errorf("run %s sent a chunk that is not one: %w", s.run, d.err)
	}
	return chunk, nil
}

// Publish implements vm.ChunkStore.
func (s runChunks) Publish(chunk vm.Chunk) error {
	req := appendString(appendChunkOp(nil, s.c.version, chunkPublish), chunk.Name)
	_, err := s.request(append(req, chunk.Source...))
	return err
}

// request sends a chunk request to the run and returns the reply's data after chunkOK.
func (s runChunks) request(data []byte) ([]byte, error) {
	msg, err := s.c.askRun(kindChunks, s.run, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("run %s does not answer for its chunks: it has ended", s.run)
	case err != nil:
		return nil, fmt.Errorf("run %s: chunk request: %w", s.run, err)
	case len(msg.Data) == 0:
		return nil, fmt.Errorf("run %s: an empty chunk reply", s.run)
	case msg.Data[0] == chunkFailed:
		return nil, fmt.Errorf("run %s: %s", s.run, msg.Data[1:])
	}
	return msg.Data[1:], nil
}

func appendChunkOp(buf []byte, version int, op byte) []byte {
	return append(binary.AppendUvarint(buf, uint64(version)), op)
}

// onChunks answers a worker's chunk request from cfg.Chunks.
func (r *Run) onChunks(msg *nats.Msg) {
	reply, err := r.answerChunks(msg.Data)
	if err != nil {
		reply = append([]byte{chunkFailed}, err.Error()...)
	}
	_ = msg.Respond(reply)
}

func (r *Run) answerChunks(data []byte) ([]byte, error) {
	d := decoder{data: data}
	if v := int(d.uvarint()); d.err == nil && v != r.c.version {
		return nil, fmt.Errorf("a chunk request of protocol version %d, not %d", v, r.c.version)
	}
	rest := d.rest()
	if d.err != nil || len(rest) == 0 {
		return nil, fmt.Errorf("a chunk request that is not one")
	}
	switch op, body := rest[0], rest[1:]; op {
	case chunkFetch:
		var id vm.ChunkID
		if len(body) != len(id) {
			return nil, fmt.Errorf("a chunk id of %d bytes, not %d", len(body), len(id))
		}
		copy(id[:], body)
		chunk, err := r.cfg.Chunks.Fetch(id)
		if err != nil {
			return nil, err
		}
		return append(appendString([]byte{chunkOK}, chunk.Name), chunk.Source...), nil
	case chunkPublish:
		d := decoder{data: body}
		chunk := vm.Chunk{Name: d.string(), Source: string(d.rest())}
		if d.err != nil {
			return nil, fmt.Errorf("a published chunk that is not one: %w", d.err)
		}
		if err := r.cfg.Chunks.Publish(chunk); err != nil {
			return nil, err
		}
		return []byte{chunkOK}, nil
	}
	return nil, fmt.Errorf("an unknown chunk operation %q", rest[0])
}
