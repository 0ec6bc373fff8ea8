// Package pipesock carries a Pipe's messages between processes over
// sockets of the pipe's own, as Python's Connection does: a SOCK_SEQPACKET
// socketpair, one socket per end. Every process that uses an end has that
// end's socket (the host keeps one of each until the end is closed, and
// hands a duplicate to each child that asks for it), sends by writing one
// packet into it and receives by reading one, with no call to the host: a
// ping pong is one write and one read on each side.
//
// The host still owns the pipe. A send waits only when the pipe holds more
// than its capacity (see Bound), so a message that cannot go into the socket
// at once, because the socket is full or the message is larger than Inline,
// goes to the host, which keeps it in the end's backlog and writes it into
// the socket when there is room (a large one as a packet that names it,
// which the reader then fetches from the host). So that each sender's
// messages stay in order, an end has a gate: a word in memory that every
// process maps (package slots) counting the messages handed to the host
// and not yet in the socket. While it is not 0, every sender hands its
// messages to the host. Its top bits, Closed and PeerClosed, say that an
// end is closed; a sender then learns from the host why its send fails.
// Waits sleep in ppoll, not in Go's netpoller, which would register the
// socket for writing too and wake the sender's process at every read.
//
// A packet is a kind byte and what follows:
//
//	'm' message    a message
//	'h' id         a message the host holds: id, a uint64, big-endian
package pipesock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Inline is the size of the largest message that travels in the socket
// itself; a larger one is held by the host.
const Inline = 32 << 10

// The gate's bits that say that its end is closed, and that the other end
// is: sends are refused either way; receives, only in the first case.
const (
	Closed     uint64 = 1 << 63
	PeerClosed uint64 = 1 << 62
	flags             = Closed | PeerClosed
)

// Packet kinds.
const (
	kindMessage byte = 'm'
	kindHeld    byte = 'h'
)

var (
	// ErrClosed is returned when an end is closed: a send whose socket
	// was shut, a receive once the other end is closed and everything it
	// sent has been received.
	ErrClosed = errors.New("the pipe is closed")
	// ErrTimeout is returned by a receive that found nothing before its
	// deadline.
	ErrTimeout = errors.New("nothing to receive")
)

// Pair makes the sockets of a new pipe's two ends.
func Pair() (a, b *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("making a pipe: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "pipe"), os.NewFile(uintptr(fds[1]), "pipe"), nil
}

// Deadline is the time by which a receive stops waiting: the zero time
// when it may wait forever, a time already passed when it may not wait.
func Deadline(block, forever bool, timeout time.Duration) time.Time {
	switch {
	case block && forever:
		return time.Time{}
	case !block || timeout <= 0:
		return time.Unix(1, 0)
	}
	return time.Now().Add(timeout)
}

// Conn is one process's use of one end's socket. Its methods may be
// called from any goroutine.
type Conn struct {
	file   *os.File
	raw    syscall.RawConn
	gate   *atomic.Uint64
	inline int // the largest message the socket takes: Inline, or less if its buffer is small

	mu       sync.Mutex
	backlog  [][]byte // packets to write, the host's
	writing  bool     // a goroutine writes the backlog
	inflight int      // packets taken from the backlog and being written
	writer   sync.WaitGroup
	held     map[uint64][]byte
	lastHeld uint64
	shut     bool // shut for writing once the backlog is written
	retired  bool // the socket closes once the backlog is written (CloseWhenWritten)
	onDrop   func(msg []byte)

	capacity int64   // what the host holds for the end at most (see Bound)
	budget   *Budget // nil: no bound
	bytes    int64   // what it holds: the backlog's messages and the held ones
	waiters  int     // sends that wait for room
}

// Open makes a Conn of an end's socket, a file of Pair or one received
// from the host, whose gate is gate. The Conn owns file.
func Open(file *os.File, gate *atomic.Uint64) (*Conn, error) {
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("a pipe's socket: %w", err)
	}
	c := &Conn{file: file, raw: raw, gate: gate, inline: Inline}
	c.Control(func(fd int) error {
		// A packet may take the send buffer less 32 bytes (the kernel's
		// rule for SOCK_SEQPACKET); a larger message is held by the host.
		if size, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF); err == nil {
			c.inline = max(0, min(Inline, size-32-1))
		}
		return nil
	})
	return c, nil
}

// OnDrop sets a function that the Conn calls, outside its lock, with each
// message it drops undelivered: what is left of its backlog and its held
// messages when the other end is closed, and the messages waiting in its
// socket when it is shut. The host lets go there of what the message holds.
func (c *Conn) OnDrop(f func(msg []byte)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onDrop = f
}

// unlockDropping unlocks c.mu, then tells OnDrop's function of msgs.
func (c *Conn) unlockDropping(msgs [][]byte) {
	f := c.onDrop
	c.mu.Unlock()
	if f == nil {
		return
	}
	for _, msg := range msgs {
		f(msg)
	}
}

// ShareGate moves the gate to word, in memory that children map; it is
// called before anyone uses the Conn.
func (c *Conn) ShareGate(word *atomic.Uint64) {
	word.Store(c.gate.Load())
	c.gate = word
}

// Closed reports whether the end is closed (its gate says so).
func (c *Conn) Closed() bool { return c.gate.Load()&Closed != 0 }

// Refuses reports whether a send on the end would fail: either end is
// closed (the gate says so). The sender then asks the host, which says why.
func (c *Conn) Refuses() bool { return c.gate.Load()&flags != 0 }

// PeerClosed marks on the gate that the other end is closed.
func (c *Conn) PeerClosed() { c.gate.Or(PeerClosed) }

// Control calls f with the socket's file descriptor, which stays open
// meanwhile, or returns ErrClosed when this process has closed it.
func (c *Conn) Control(f func(fd int) error) error {
	var err error
	if cerr := c.raw.Control(func(fd uintptr) { err = f(int(fd)) }); cerr != nil {
		return ErrClosed // this process closed it
	}
	return err
}

// Direct reports whether a message of n bytes may be written into the
// socket by its sender now: nothing waits in the host, the end is open,
// and the message is not too large.
func (c *Conn) Direct(n int) bool { return n <= c.inline && c.gate.Load() == 0 }

// TrySend writes msg into the socket if it may go there now (see Direct)
// and there is room for it. It returns false when the host must take it:
// the caller then counts it (Count) before handing it over, or, in the
// host, calls Enqueue. The error is ErrClosed when the socket is shut.
func (c *Conn) TrySend(msg []byte) (sent bool, err error) {
	if !c.Direct(len(msg)) {
		return false, nil
	}
	sent, err = c.sendPacket([]byte{kindMessage}, msg)
	if errors.Is(err, errTooLarge) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) {
		return false, nil // the host holds it, or waits until the kernel has memory
	}
	return sent, err
}

// Count adds a message to the gate before its sender hands it to the host
// (see TrySend); the host takes it off once the message is in the socket,
// or refused.
func (c *Conn) Count() { c.gate.Add(1) }

// Uncount takes a counted message that was not taken off the gate.
func (c *Conn) Uncount() { c.gate.Add(^uint64(0)) }

// Recv reads the next packet: a message, or the id of a message that the
// host holds (take it with the host's Take). It waits until deadline (see
// Deadline) or until ctx is done, and returns ErrTimeout, ErrClosed or
// ctx.Err() when it has nothing.
func (c *Conn) Recv(ctx context.Context, deadline time.Time) (msg []byte, held uint64, err error) {
	buf := packets.Get().(*[]byte)
	defer packets.Put(buf)
	n, err := c.read(ctx, deadline, *buf, 0)
	if err != nil {
		return nil, 0, err
	}
	p := (*buf)[:n]
	switch {
	case p[0] == kindMessage:
		return append([]byte(nil), p[1:]...), 0, nil
	case p[0] == kindHeld && len(p) == 9:
		return nil, binary.BigEndian.Uint64(p[1:]), nil
	}
	return nil, 0, fmt.Errorf("a malformed message on a pipe (%d bytes, kind %q)", n, p[0])
}

// packets are buffers for the largest packet, shared by the Conns of a
// process: a pipe costs no memory while nobody receives on it.
var packets = sync.Pool{New: func() any { b := make([]byte, 1+Inline); return &b }}

// Poll reports whether a receive would not wait: a packet is waiting, or
// the other end is closed and nothing is left. It waits as Recv does.
func (c *Conn) Poll(ctx context.Context, deadline time.Time) (bool, error) {
	var peek [1]byte
	_, err := c.read(ctx, deadline, peek[:], unix.MSG_PEEK)
	switch {
	case err == nil, errors.Is(err, ErrClosed):
		return true, nil
	case errors.Is(err, ErrTimeout):
		return false, nil
	}
	return false, err
}

// read reads (or peeks at, with flags MSG_PEEK) one packet into buf, and
// returns its length; a packet longer than buf is cut.
func (c *Conn) read(ctx context.Context, deadline time.Time, buf []byte, flags int) (int, error) {
	wait := deadline.IsZero() || time.Until(deadline) > 0
	for {
		var n int
		var rerr error
		err := c.Control(func(fd int) error {
			n, _, _, _, rerr = unix.Recvmsg(fd, buf, nil, flags|unix.MSG_DONTWAIT)
			return nil
		})
		switch {
		case err != nil:
			return 0, ErrClosed // this process closed the socket
		case rerr == nil && n > 0:
			return n, nil
		case rerr == nil, errors.Is(rerr, unix.ECONNRESET):
			return 0, ErrClosed // the end of the pipe (no packet is empty)
		case errors.Is(rerr, unix.EINTR):
			continue
		case !errors.Is(rerr, unix.EAGAIN):
			return 0, fmt.Errorf("receiving on a pipe: %w", rerr)
		case !wait:
			return 0, ErrTimeout
		}
		if err := c.wait(ctx, deadline, unix.POLLIN); err != nil {
			return 0, err
		}
	}
}

// pollSlice is the longest a wait sleeps in the kernel before it looks at
// its context again: how long a cancelled receive (Ctrl-C) may take.
const pollSlice = 50 * time.Millisecond

// wait waits, in the kernel, until the socket is ready for events (or shut
// or closed), deadline passes (ErrTimeout) or ctx is done (ctx.Err()). It
// does not use Go's netpoller: that would register the socket for writing
// too, and the reader's every receive would wake the writer's process.
func (c *Conn) wait(ctx context.Context, deadline time.Time, events int16) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		slice := pollSlice
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			slice = min(slice, left)
		}
		ts := unix.NsecToTimespec(int64(slice))
		var ready bool
		err := c.Control(func(fd int) error {
			fds := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
			n, err := unix.Ppoll(fds[:], &ts, nil)
			ready = n > 0
			if errors.Is(err, unix.EINTR) {
				return nil
			}
			return err
		})
		switch {
		case err != nil:
			return ErrClosed
		case ready:
			return nil
		}
	}
}

// CloseWhenWritten closes this process's socket of the end once the backlog is written, at once
// if it is empty: the end is shut, so only its backlog's writer still needs the socket, and the
// host need not keep a file for a closed end whose other end is still open. Close still waits
// for the writer.
func (c *Conn) CloseWhenWritten() {
	c.mu.Lock()
	c.retired = true
	now := !c.writing
	c.mu.Unlock()
	if now {
		c.file.Close()
	}
}

// Close closes this process's socket of the end, once the goroutine that
// writes the backlog, if any, has seen it (Shut both ends first, so that it
// is not waiting for room). The end stays open for the other processes that
// have it.
func (c *Conn) Close() error {
	err := c.file.Close()
	c.writer.Wait()
	// What the end still holds can no longer go: its bytes go back to the
	// budget, which every end of this process shares.
	c.mu.Lock()
	c.dropLocked(false)
	c.mu.Unlock()
	return err
}
