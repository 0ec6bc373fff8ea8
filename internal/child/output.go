package child

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync"
)

// Output travels from a child to the host over a pipe in frames: one byte
// naming the stream, the length as a uvarint, then the bytes. Every write of
// a child's print is one frame in one write(2), so what a child wrote is in
// the pipe, and reaches the host, even when the child is killed right after.
// When a process ends, its child writes an End frame whose bytes are the
// exit status as a varint: the host then knows it has all the process's
// output, and the child may run another process.

// Streams of output frames.
const (
	End    byte = 0
	Stdout byte = 1
	Stderr byte = 2
)

// OutputFD is the child's file descriptor of its output pipe.
const OutputFD = 3

// maxFrame bounds one frame, so a corrupt length cannot make the host
// allocate without limit; longer writes are split.
const maxFrame = 1 << 20

// FrameWriter writes one stream of a child's output as frames.
type FrameWriter struct {
	mu     *sync.Mutex // shared by the streams of one pipe
	f      *os.File
	stream byte
}

// NewFrameWriters returns the stdout and stderr writers of one pipe.
func NewFrameWriters(f *os.File) (stdout, stderr *FrameWriter) {
	mu := new(sync.Mutex)
	return &FrameWriter{mu, f, Stdout}, &FrameWriter{mu, f, Stderr}
}

// Write sends p as frames, each in one write.
func (w *FrameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	written := 0
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		frame := make([]byte, 0, n+binary.MaxVarintLen64+1)
		frame = append(frame, w.stream)
		frame = binary.AppendUvarint(frame, uint64(n))
		frame = append(frame, p[:n]...)
		if _, err := w.f.Write(frame); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// WriteEnd writes the End frame of a process that exited with code.
func WriteEnd(f *os.File, code int) error {
	frame := []byte{End, 0}
	frame = binary.AppendVarint(frame, int64(code))
	frame[1] = byte(len(frame) - 2)
	_, err := f.Write(frame)
	return err
}

// EndCode reads the exit status of an End frame's bytes.
func EndCode(data []byte) (int, error) {
	code, n := binary.Varint(data)
	if n <= 0 || n != len(data) {
		return 0, errors.New("malformed end frame")
	}
	return int(code), nil
}

// ReadFrame reads one frame. At the end of the pipe it returns io.EOF; a
// frame cut short by the child's death comes back with what arrived and
// io.ErrUnexpectedEOF.
func ReadFrame(r *bufio.Reader) (stream byte, data []byte, err error) {
	stream, err = r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	if stream > Stderr {
		return 0, nil, errors.New("output frame of an unknown stream")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, io.ErrUnexpectedEOF
	}
	if n > maxFrame {
		return 0, nil, errors.New("output frame over the size limit")
	}
	data = make([]byte, n)
	got, err := io.ReadFull(r, data)
	if err != nil {
		return stream, data[:got], io.ErrUnexpectedEOF
	}
	return stream, data, nil
}
