package vm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// LocalPoolPayload makes, from the payload of a pool's workers that another host's VM
// encoded ({pool, initializer, initargs, ...}, see StartPoolWorker), the payload of the
// workers of this host's pool with the given id, which run that pool's tasks here (a cluster
// worker): its pool handle names pool, and the table gets where, which the workers add to the
// errors of their tasks ("on cluster worker HOST:PID"). It works on the bytes, without a VM.
func LocalPoolPayload(payload []byte, pool uint64, where string) ([]byte, error) {
	if len(payload) < 2 || payload[0] != codecVersion || payload[1] != tagTable {
		return nil, errors.New("pool payload: not an encoded table")
	}
	s := handleScan{data: payload, pos: 2}
	n, err := s.uvarint()
	if err != nil {
		return nil, err
	}
	pairs, err := s.uvarint()
	if err != nil {
		return nil, err
	}
	arrayStart := s.pos
	if err := s.values(n, 1); err != nil {
		return nil, fmt.Errorf("pool payload: %w", err)
	}
	out := binary.AppendUvarint(binary.AppendUvarint(append([]byte(nil), payload[:2]...), n), pairs+1)
	out = append(out, payload[arrayStart:s.pos]...)
	poolKey := appendCodecString(nil, "pool")
	found := false
	for ; pairs > 0; pairs-- {
		keyStart := s.pos
		if err := s.value(1); err != nil {
			return nil, fmt.Errorf("pool payload: %w", err)
		}
		valueStart := s.pos
		if err := s.value(1); err != nil {
			return nil, fmt.Errorf("pool payload: %w", err)
		}
		key, value := payload[keyStart:valueStart], payload[valueStart:s.pos]
		out = append(out, key...)
		if string(key) == string(poolKey) && len(s.kinds) > 0 && value[0] == tagHandle && s.kinds[len(s.kinds)-1] == "Pool" {
			out = appendHandle(out, "Pool", pool)
			found = true
			continue
		}
		out = append(out, value...)
	}
	if !found {
		return nil, errors.New("pool payload has no Pool")
	}
	out = appendCodecString(appendCodecString(out, "where"), where)
	return append(out, payload[s.pos:]...), nil // the metatable
}

// appendCodecString appends s as the codec writes a string.
func appendCodecString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(append(buf, tagString), uint64(len(s))), s...)
}

// appendHandle appends the handle of the object id of kind as the codec writes it.
func appendHandle(buf []byte, kind string, id uint64) []byte {
	buf = append(binary.AppendUvarint(append(buf, tagHandle), uint64(len(kind))), kind...)
	return binary.AppendUvarint(buf, id)
}
