// Package wire is what every connection between mphost's processes shares:
// the largest message either side accepts, the gRPC options that allow it,
// and the framing of the raw sockets that carry the hot calls (a child's
// call socket to the host, a plugin's call socket).
//
// A frame is
//
//	length  uint32, big-endian: the bytes of the message
//	kind    one byte, whose meaning is the socket's own
//	seq     uint64, big-endian: the call's number, which its reply carries
//	message length bytes: a protobuf message, or an error's text
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/mphost/mphost/internal/vm"
)

// MaxMessage is the largest message either side accepts, framed or gRPC:
// the codec's own limit, so that a value the codec takes also crosses.
var MaxMessage = vm.DefaultLimits.MaxBytes + 1<<20

// ServerOptions are the options of every gRPC server of host, child and
// plugin.
func ServerOptions(opts []grpc.ServerOption) []grpc.ServerOption {
	return append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))
}

// DialOptions are the options of every gRPC connection of host, child and
// plugin.
var DialOptions = []grpc.DialOption{
	grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessage), grpc.MaxCallSendMsgSize(MaxMessage)),
}

// Header is the length of a frame's header.
const Header = 13

// ErrTooLong is a frame whose length is over MaxMessage; ReadFrame has
// skipped its bytes, so the next frame can be read.
var ErrTooLong = errors.New("message too long")

// KeepBuffer is the largest buffer kept for the next frame: one that a
// large message grew is let go.
const KeepBuffer = 1 << 20

// TrimBuffer returns b emptied, or nil if it is over KeepBuffer.
func TrimBuffer(b []byte) []byte {
	if cap(b) > KeepBuffer {
		return nil
	}
	return b[:0]
}

// ReadFrame reads one frame into buf (grown as needed) and returns its
// kind, number and message, which is valid until the next read into buf.
func ReadFrame(r *bufio.Reader, buf *[]byte) (kind byte, seq uint64, msg []byte, err error) {
	var h [Header]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	kind, seq = h[4], binary.BigEndian.Uint64(h[5:])
	if int64(n) > int64(MaxMessage) {
		if _, err = r.Discard(int(n)); err != nil {
			return 0, 0, nil, err
		}
		return kind, seq, nil, TooLong(int(n))
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	msg = (*buf)[:n]
	if _, err = io.ReadFull(r, msg); err != nil {
		return 0, 0, nil, err
	}
	return kind, seq, msg, nil
}

// TooLong is the error of an n-byte message, over MaxMessage.
func TooLong(n int) error {
	return fmt.Errorf("%w: %d bytes (the limit is %d)", ErrTooLong, n, MaxMessage)
}

// AppendFrame appends a frame holding m (nil: no message) to b.
func AppendFrame(b []byte, kind byte, seq uint64, m proto.Message) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, Header)...)
	if m != nil {
		var err error
		if b, err = (proto.MarshalOptions{}).MarshalAppend(b, m); err != nil {
			return b[:start], err
		}
	}
	return EndFrame(b, start, kind, seq)
}

// AppendErrorFrame appends a frame whose message is the text of err to b.
func AppendErrorFrame(b []byte, kind byte, seq uint64, err error) []byte {
	start := len(b)
	b = append(b, make([]byte, Header)...)
	b = append(b, err.Error()...)
	b, _ = EndFrame(b, start, kind, seq)
	return b
}

// EndFrame writes the header of the frame that starts at b[start], whose
// message is the rest of b.
func EndFrame(b []byte, start int, kind byte, seq uint64) ([]byte, error) {
	n := len(b) - start - Header
	if int64(n) > int64(MaxMessage) {
		return b[:start], TooLong(n)
	}
	PutHeader(b[start:], kind, seq, n)
	return b, nil
}

// PutHeader writes the header of a frame with an n-byte message to h.
func PutHeader(h []byte, kind byte, seq uint64, n int) {
	binary.BigEndian.PutUint32(h, uint32(n))
	h[4] = kind
	binary.BigEndian.PutUint64(h[5:], seq)
}
