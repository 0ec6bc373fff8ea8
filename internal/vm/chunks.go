package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// A Chunk is one unit of Lua source as it was loaded: the main script, a
// required module, or a string given to load or loadstring.
type Chunk struct {
	Name   string // the chunk name errors show, e.g. "job.lua"
	Source string
}

// ID returns the chunk's identity: a hash of its name and source. The same
// bytes compiled by the same binary give the same function prototypes, so an
// ID names the same code in every process.
func (c Chunk) ID() ChunkID {
	h := sha256.New()
	h.Write([]byte(c.Name))
	h.Write([]byte{0})
	h.Write([]byte(c.Source))
	var id ChunkID
	copy(id[:], h.Sum(nil))
	return id
}

// ChunkID identifies a [Chunk] by content.
type ChunkID [16]byte

func (id ChunkID) String() string { return hex.EncodeToString(id[:]) }

// ChunkStore supplies the chunks a VM did not load itself and takes the ones
// it did, so that other processes can rebuild its closures. In a child process
// the store is the host; the host itself needs none.
type ChunkStore interface {
	// Fetch returns the chunk with the given ID.
	Fetch(id ChunkID) (Chunk, error)
	// Publish makes a chunk known to the store.
	Publish(c Chunk) error
}

// Chunks is the record of every chunk a process has loaded or been sent, with
// the compiled prototypes that closure shipping locates functions in. It is
// safe for concurrent use: the host serves children's Fetch and Publish calls
// from the same record its main VM writes to.
type Chunks struct {
	remote ChunkStore // nil in the host

	mu     sync.Mutex
	byID   map[ChunkID]*chunkEntry
	protos map[*lua.FunctionProto]protoRef
}

type chunkEntry struct {
	chunk     Chunk
	proto     *lua.FunctionProto // nil until compiled
	published bool               // the remote store has it
}

// protoRef locates a function prototype: the chunk and the path of indexes
// through FunctionPrototypes from the chunk's main function.
type protoRef struct {
	id   ChunkID
	path []int
}

// NewChunks returns an empty record. remote, when not nil, is asked for chunks
// this record lacks and told of the ones it adds.
func NewChunks(remote ChunkStore) *Chunks {
	return &Chunks{
		remote: remote,
		byID:   make(map[ChunkID]*chunkEntry),
		protos: make(map[*lua.FunctionProto]protoRef),
	}
}

// Add records a chunk's source without compiling it, as the host does for a
// chunk a child publishes. It returns the chunk's ID.
func (cs *Chunks) Add(c Chunk) ChunkID {
	id := c.ID()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.byID[id]; !ok {
		cs.byID[id] = &chunkEntry{chunk: c}
	}
	return id
}

// Lookup returns the chunk with the given ID, if this record has it.
func (cs *Chunks) Lookup(id ChunkID) (Chunk, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e, ok := cs.byID[id]
	if !ok {
		return Chunk{}, false
	}
	return e.chunk, true
}

// Fetch implements [ChunkStore] on the record itself, so that one process's
// record can serve another's: it returns a chunk this record holds.
func (cs *Chunks) Fetch(id ChunkID) (Chunk, error) {
	if c, ok := cs.Lookup(id); ok {
		return c, nil
	}
	return Chunk{}, fmt.Errorf("unknown chunk %s", id)
}

// Publish implements [ChunkStore]: it records the chunk.
func (cs *Chunks) Publish(c Chunk) error {
	cs.Add(c)
	return nil
}

// Compile compiles a chunk, records it and returns its main prototype. A
// chunk compiled before is not compiled again. Syntax errors read
// "name:line: message".
func (cs *Chunks) Compile(c Chunk) (*lua.FunctionProto, error) {
	id := c.ID()
	cs.mu.Lock()
	e, ok := cs.byID[id]
	if ok && e.proto != nil {
		cs.mu.Unlock()
		return e.proto, nil
	}
	cs.mu.Unlock()

	proto, err := compileChunk(c)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if e, ok = cs.byID[id]; !ok {
		e = &chunkEntry{chunk: c}
		cs.byID[id] = e
	}
	if e.proto == nil {
		e.proto = proto
		cs.indexProtos(id, proto, nil)
	}
	return e.proto, nil
}

// indexProtos records where every prototype of a chunk sits. Called with mu held.
func (cs *Chunks) indexProtos(id ChunkID, p *lua.FunctionProto, path []int) {
	cs.protos[p] = protoRef{id: id, path: path}
	for i, child := range p.FunctionPrototypes {
		cs.indexProtos(id, child, append(path[:len(path):len(path)], i))
	}
}

// refOf locates a prototype for the encoder, and makes sure the remote store
// knows its chunk so that the receiver can fetch it.
func (cs *Chunks) refOf(p *lua.FunctionProto) (protoRef, error) {
	cs.mu.Lock()
	ref, ok := cs.protos[p]
	var publish *chunkEntry
	if ok && cs.remote != nil {
		if e := cs.byID[ref.id]; !e.published {
			publish = e
		}
	}
	cs.mu.Unlock()
	if !ok {
		return protoRef{}, errors.New("its code was not loaded through a recorded chunk")
	}
	if publish != nil {
		if err := cs.remote.Publish(publish.chunk); err != nil {
			return protoRef{}, fmt.Errorf("publishing chunk %s: %w", publish.chunk.Name, err)
		}
		cs.mu.Lock()
		publish.published = true
		cs.mu.Unlock()
	}
	return ref, nil
}

// proto returns the prototype at path in chunk id, compiling the chunk, and
// fetching it from the remote store first, when needed.
func (cs *Chunks) proto(id ChunkID, path []int) (*lua.FunctionProto, error) {
	cs.mu.Lock()
	e, ok := cs.byID[id]
	cs.mu.Unlock()
	var c Chunk
	switch {
	case ok:
		c = e.chunk
	case cs.remote != nil:
		var err error
		if c, err = cs.remote.Fetch(id); err != nil {
			return nil, fmt.Errorf("fetching chunk %s: %w", id, err)
		}
		if c.ID() != id {
			return nil, fmt.Errorf("fetched chunk %s has another content", id)
		}
		cs.mu.Lock()
		cs.byID[id] = &chunkEntry{chunk: c, published: true}
		cs.mu.Unlock()
	default:
		return nil, fmt.Errorf("unknown chunk %s", id)
	}
	p, err := cs.Compile(c)
	if err != nil {
		return nil, err
	}
	for _, i := range path {
		if i < 0 || i >= len(p.FunctionPrototypes) {
			return nil, fmt.Errorf("no function at %v in chunk %s", path, c.Name)
		}
		p = p.FunctionPrototypes[i]
	}
	return p, nil
}

// compileChunk parses and compiles one chunk, with errors in Lua's
// "name:line: message" form.
func compileChunk(c Chunk) (proto *lua.FunctionProto, err error) {
	defer func() {
		// The parser panics on some malformed input; report it as a syntax error.
		if r := recover(); r != nil {
			proto, err = nil, fmt.Errorf("%s: syntax error: %v", c.Name, r)
		}
	}()
	stmts, err := parse.Parse(strings.NewReader(c.Source), c.Name)
	if err != nil {
		return nil, syntaxError(c, err)
	}
	proto, err = lua.Compile(stmts, c.Name)
	if err != nil {
		return nil, syntaxError(c, err)
	}
	fixForInLoops(proto)
	return proto, nil
}

func syntaxError(c Chunk, err error) error {
	var pe *parse.Error
	var ce *lua.CompileError
	switch {
	case errors.As(err, &pe):
		if pe.Pos.Line == parse.EOF {
			return &SyntaxError{File: c.Name, Line: strings.Count(strings.TrimRight(c.Source, "\n"), "\n") + 1, Message: pe.Message + " near <eof>"}
		}
		return &SyntaxError{File: c.Name, Line: pe.Pos.Line, Message: fmt.Sprintf("%s near '%s'", pe.Message, pe.Token)}
	case errors.As(err, &ce):
		return &SyntaxError{File: c.Name, Line: ce.Line, Message: ce.Message}
	}
	return fmt.Errorf("%s: %w", c.Name, err)
}
