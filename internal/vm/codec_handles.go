package vm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HandleIDs lists the ids of the host objects whose handles data holds,
// once per copy written, without a VM: data is what [VM.Encode] gave (a
// process's arguments, a queue item, a pipe message, a Value's content, a
// pool task's result), or a pool task's arguments after their header.
// Each copy holds its object while it travels (holds.go); the host lets go
// of what a message it drops undecoded holds, and holds the objects of a
// process's arguments for the process as it hands them over. Malformed bytes
// give an error and the ids read until then.
func HandleIDs(data []byte) ([]uint64, error) {
	s, err := scanHandles(data)
	return s.ids, err
}

// HandleKinds is HandleIDs with the kind of each handle ("Queue", "Pool"...),
// for messages that must carry none, or only one.
func HandleKinds(data []byte) (kinds []string, ids []uint64, err error) {
	s, err := scanHandles(data)
	return s.kinds, s.ids, err
}

// scanHandles walks data, as HandleIDs describes it, for its handles.
func scanHandles(data []byte) (handleScan, error) {
	if _, _, items, ok := splitTask(data); ok {
		data = items
	}
	if len(data) == 0 || data[0] != codecVersion {
		return handleScan{}, fmt.Errorf("handles: not a version %d message", codecVersion)
	}
	s := handleScan{data: data, pos: 1}
	if err := s.value(0); err != nil {
		return s, fmt.Errorf("handles: at byte %d: %w", s.pos, err)
	}
	return s, nil
}

// handleScan walks encoded bytes (the format is in codec.go) and collects
// the ids of their handles.
type handleScan struct {
	data  []byte
	pos   int
	ids   []uint64
	kinds []string // the kind of each of ids
}

// at is the byte at s.pos, 0 (tagNil) past the end.
func (s *handleScan) at() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return tagNil
}

func (s *handleScan) uvarint() (uint64, error) {
	n, size := binary.Uvarint(s.data[s.pos:])
	if size <= 0 {
		return 0, errTruncated
	}
	s.pos += size
	return n, nil
}

// skip passes n bytes.
func (s *handleScan) skip(n uint64) error {
	if n > uint64(len(s.data)-s.pos) {
		return errTruncated
	}
	s.pos += int(n)
	return nil
}

// bytes passes a length and that many bytes.
func (s *handleScan) bytes() error {
	n, err := s.uvarint()
	if err != nil {
		return err
	}
	return s.skip(n)
}

// values passes n values.
func (s *handleScan) values(n uint64, depth int) error {
	for ; n > 0; n-- {
		if err := s.value(depth); err != nil {
			return err
		}
	}
	return nil
}

// array passes a table's array part: n values, runs of numbers counting
// for as many as they hold.
func (s *handleScan) array(n uint64, depth int) error {
	for n > 0 {
		if width := uint64(runWidth(s.at())); width != 0 {
			s.pos++
			k, err := s.uvarint()
			if err != nil {
				return err
			}
			if k > n || k > uint64(len(s.data)) {
				return errors.New("a run of numbers overflows its array")
			}
			if err := s.skip(k * width); err != nil {
				return err
			}
			n -= k
			continue
		}
		if err := s.value(depth); err != nil {
			return err
		}
		n--
	}
	return nil
}

func (s *handleScan) value(depth int) error {
	if depth > DefaultLimits.MaxDepth {
		return fmt.Errorf("nested deeper than %d levels", DefaultLimits.MaxDepth)
	}
	if s.pos >= len(s.data) {
		return errTruncated
	}
	tag := s.data[s.pos]
	s.pos++
	switch tag {
	case tagNil, tagFalse, tagTrue:
		return nil
	case tagInt:
		_, size := binary.Varint(s.data[s.pos:])
		if size <= 0 {
			return errors.New("bad integer")
		}
		s.pos += size
		return nil
	case tagFloat:
		return s.skip(8)
	case tagString, tagBuiltin:
		return s.bytes()
	case tagRef:
		_, err := s.uvarint()
		return err
	case tagHandle:
		start := s.pos
		if err := s.bytes(); err != nil {
			return err
		}
		kind := s.data[start:s.pos]
		_, size := binary.Uvarint(kind)
		id, err := s.uvarint()
		if err == nil {
			s.ids = append(s.ids, id)
			s.kinds = append(s.kinds, string(kind[size:]))
		}
		return err
	case tagTable:
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		pairs, err := s.uvarint()
		if err != nil {
			return err
		}
		if pairs > uint64(len(s.data)) {
			return errTruncated
		}
		if err := s.array(n, depth+1); err != nil {
			return err
		}
		if err := s.values(2*pairs+1, depth+1); err != nil { // the metatable last
			return err
		}
		return nil
	case tagFunc:
		return s.function(depth + 1)
	}
	return fmt.Errorf("unknown tag %d", tag)
}

// function passes a function: its proto, its upvalue cells and its globals.
func (s *handleScan) function(depth int) error {
	k, err := s.uvarint()
	if err != nil {
		return err
	}
	if k == 0 { // a new proto: its chunk, then its path
		if k, err = s.uvarint(); err != nil {
			return err
		}
		if k == 0 {
			if err := s.skip(uint64(len(ChunkID{}))); err != nil {
				return err
			}
		}
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			if _, err := s.uvarint(); err != nil {
				return err
			}
		}
	}
	n, err := s.uvarint()
	if err != nil {
		return err
	}
	for ; n > 0; n-- {
		cell, err := s.uvarint()
		if err != nil {
			return err
		}
		if cell == 0 {
			if err := s.value(depth); err != nil {
				return err
			}
		}
	}
	if n, err = s.uvarint(); err != nil {
		return err
	}
	for ; n > 0; n-- {
		if err := s.bytes(); err != nil {
			return err
		}
		if err := s.value(depth); err != nil {
			return err
		}
	}
	return nil
}
