package pipesock

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// The host's side of an end: the backlog of messages that did not go into
// the socket at once, the large messages it holds, and shutting the end.

// Send sends msg from the host: into the socket if it may go there now,
// otherwise into the backlog (see Enqueue).
func (c *Conn) Send(ctx context.Context, msg []byte) error {
	if sent, err := c.TrySend(msg); sent || err != nil {
		return err
	}
	return c.Enqueue(ctx, msg, false)
}

// Enqueue adds msg to the backlog, which a goroutine writes into the
// socket in order as the reader makes room; a message larger than the
// socket takes is held, and the socket gets a packet that names it. When
// the backlog is empty, the message goes into the socket at once if there
// is room, so that a send that returned is there to poll. counted says that
// the sender has already added it to the gate (Count); otherwise Enqueue
// does. When the end holds its capacity (see Bound), Enqueue first waits for
// the reader to make room, or for ctx to end. Enqueue does not keep msg: the
// caller may reuse it. It returns ErrClosed when either end is closed, or
// ctx.Err(), and then takes msg off the gate.
func (c *Conn) Enqueue(ctx context.Context, msg []byte, counted bool) error {
	if !counted {
		c.Count()
	}
	n := int64(len(msg))
	if err := c.reserve(ctx, n); err != nil {
		c.Uncount()
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		c.unreserveLocked(n)
		c.Uncount()
		return ErrClosed
	}
	var p []byte
	var held uint64
	if len(msg) <= c.inline {
		p = append([]byte{kindMessage}, msg...)
	} else {
		p, held = c.holdLocked(msg)
	}
	if !c.writing && len(c.backlog) == 0 {
		// The sender's earlier messages are in the socket: this one may
		// go there now.
		sent, err := c.sendPacket(p)
		switch {
		case sent:
			if held == 0 {
				c.unreserveLocked(n) // in the socket; a held one stays until taken
			}
			c.Uncount()
			return nil
		case errors.Is(err, ErrClosed):
			c.Uncount()
			delete(c.held, held)
			c.unreserveLocked(n)
			return ErrClosed
		case errors.Is(err, errTooLarge) && held == 0:
			p, _ = c.holdLocked(msg) // the socket's buffer is smaller than it said
		}
		// No room, or an error the writer will wait out: the backlog.
	}
	c.backlog = append(c.backlog, p)
	if !c.writing {
		c.writing = true
		c.writer.Add(1)
		go c.writeBacklog()
	}
	return nil
}

// holdLocked keeps msg in the host and returns the packet that names it.
func (c *Conn) holdLocked(msg []byte) (packet []byte, id uint64) {
	c.lastHeld++
	if c.held == nil {
		c.held = make(map[uint64][]byte)
	}
	c.held[c.lastHeld] = append([]byte(nil), msg...)
	return binary.BigEndian.AppendUint64([]byte{kindHeld}, c.lastHeld), c.lastHeld
}

// Discount takes n messages off the gate that were counted and will never
// reach the host (their sender died in between).
func (c *Conn) Discount(n uint64) {
	if n > 0 {
		c.gate.Add(-n)
	}
}

// writeBacklog writes the backlog into the socket, waiting for room as
// needed, until it is empty; then, if the end is shut, it shuts the socket
// for writing, so that the reader sees the end after the last message.
func (c *Conn) writeBacklog() {
	defer c.writer.Done()
	for {
		c.mu.Lock()
		if len(c.backlog) == 0 {
			c.writing = false
			if c.shut {
				c.shutdown(unix.SHUT_WR)
			}
			retired := c.retired
			c.mu.Unlock()
			if retired {
				c.file.Close() // outside the lock: it waits for the socket's other users
			}
			return
		}
		p := c.backlog[0]
		c.backlog[0] = nil
		c.backlog = c.backlog[1:]
		c.inflight++
		c.mu.Unlock()
		err := c.write(p)
		for errors.Is(err, errTooLarge) && p[0] == kindMessage {
			c.mu.Lock()
			p, _ = c.holdLocked(p[1:]) // the socket's buffer is smaller than it said
			c.mu.Unlock()
			err = c.write(p)
		}
		c.mu.Lock()
		c.inflight--
		c.Uncount() // after the write: no sender overtakes p
		if p[0] == kindMessage {
			c.unreserveLocked(int64(len(p) - 1)) // in the socket, or lost
		}
		if err != nil {
			// The reader's end is shut, or the socket closed: what is
			// left cannot be received. (Another error loses the backlog
			// too, but not the held messages whose packets went in.)
			lost := c.dropLocked(!errors.Is(err, ErrClosed))
			if p[0] == kindMessage {
				lost = append(lost, p[1:])
			}
			if c.shut {
				c.shutdown(unix.SHUT_WR) // the reader sees the end after what went in
			}
			c.writing = false
			retired := c.retired
			c.unlockDropping(lost)
			if retired {
				c.file.Close()
			}
			return
		}
		c.mu.Unlock()
	}
}

// sendPacket writes a packet made of parts into the socket if there is
// room; the error is ErrClosed when the socket is shut, errTooLarge when the
// socket's buffer cannot take it.
func (c *Conn) sendPacket(parts ...[]byte) (sent bool, err error) {
	var serr error
	if err := c.Control(func(fd int) error {
		_, serr = unix.SendmsgBuffers(fd, parts, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		return nil
	}); err != nil {
		return false, err
	}
	switch {
	case serr == nil:
		return true, nil
	case errors.Is(serr, unix.EAGAIN), errors.Is(serr, unix.EINTR):
		return false, nil
	case errors.Is(serr, unix.EPIPE), errors.Is(serr, unix.ECONNRESET):
		return false, ErrClosed
	case errors.Is(serr, unix.EMSGSIZE):
		return false, errTooLarge
	}
	return false, fmt.Errorf("sending on a pipe: %w", serr)
}

// errTooLarge is a packet larger than the socket's buffer.
var errTooLarge = errors.New("a packet larger than the pipe's socket takes")

// write writes packet p into the socket, waiting for room, and for the
// kernel's memory when it is short (ENOBUFS). It returns ErrClosed when the
// socket is shut or closed, errTooLarge when its buffer cannot take p.
func (c *Conn) write(p []byte) error {
	for {
		sent, err := c.sendPacket(p)
		switch {
		case sent:
			return nil
		case errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			time.Sleep(time.Millisecond) // the kernel is short of memory: try again
			continue
		case err != nil:
			return err
		}
		if err := c.wait(context.Background(), time.Time{}, unix.POLLOUT); err != nil {
			return err
		}
	}
}

// Take returns, once, the message that the host holds under id; false
// when it holds none (the end was closed).
func (c *Conn) Take(id uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg, ok := c.held[id]
	delete(c.held, id)
	c.unreserveLocked(int64(len(msg)))
	return msg, ok
}

// Shut closes the end for every process: the gate says so, so senders
// come to the host, which refuses them; the other end's sends fail; what
// this end had not received is dropped; and the other end receives what
// is left of the backlog, then the end of the pipe.
func (c *Conn) Shut() {
	c.gate.Or(Closed)
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		return
	}
	c.shut = true
	c.wakeLocked() // its sends that wait for room fail
	c.shutdown(unix.SHUT_RD)
	lost := c.discardReceived()
	if !c.writing {
		c.shutdown(unix.SHUT_WR)
	}
	c.unlockDropping(lost)
}

// Drop drops the backlog and the held messages: the other end, which
// would have received them, is closed.
func (c *Conn) Drop() {
	c.mu.Lock()
	lost := c.dropLocked(false)
	c.wakeLocked() // its sends that wait for room fail
	c.unlockDropping(lost)
}

// dropLocked drops the backlog, and the held messages unless keepHeld; it
// returns the messages dropped when OnDrop wants them.
func (c *Conn) dropLocked(keepHeld bool) (lost [][]byte) {
	for _, p := range c.backlog {
		c.Uncount()
		if p[0] == kindMessage {
			c.unreserveLocked(int64(len(p) - 1))
			if c.onDrop != nil {
				lost = append(lost, p[1:])
			}
		}
	}
	c.backlog = nil
	if keepHeld {
		return lost
	}
	for _, msg := range c.held {
		c.unreserveLocked(int64(len(msg)))
		if c.onDrop != nil {
			lost = append(lost, msg)
		}
	}
	c.held = nil
	return lost
}

// wakeLocked wakes this end's sends that wait for room, to look again.
func (c *Conn) wakeLocked() {
	if c.budget != nil && c.waiters > 0 {
		c.budget.wake()
	}
}

func (c *Conn) shutdown(how int) {
	c.Control(func(fd int) error { return unix.Shutdown(fd, how) })
}

// discardReceived reads and drops the packets waiting in the socket; it
// returns the messages among them when OnDrop wants them (a packet that
// names a held message is dropped with the other end's held messages).
func (c *Conn) discardReceived() (lost [][]byte) {
	buf := make([]byte, 1)
	if c.onDrop != nil {
		buf = make([]byte, 1+Inline)
	}
	c.Control(func(fd int) error {
		for {
			n, _, _, _, err := unix.Recvmsg(fd, buf, nil, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			if err != nil || n == 0 {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return io.EOF
			}
			if c.onDrop != nil && buf[0] == kindMessage && n <= len(buf) {
				lost = append(lost, append([]byte(nil), buf[1:n]...))
			}
		}
	})
	return lost
}
