// Package futex is the Linux futex system call on a 32-bit word that
// several processes map (a MAP_SHARED mapping of one file): Wait sleeps
// while the word holds a value, Wake wakes sleepers. The futexes are
// shared ones (no FUTEX_PRIVATE_FLAG), so that a wake from one process
// reaches a sleeper in another; the kernel finds them by the file and
// offset behind the address, whatever address each process maps it at.
package futex

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The futex operations used, without FUTEX_PRIVATE_FLAG.
const (
	opWait = 0 // FUTEX_WAIT
	opWake = 1 // FUTEX_WAKE
)

// Forever is the timeout of a Wait without limit.
const Forever time.Duration = -1

// ErrTimedOut is what Wait returns when its timeout passed first.
var ErrTimedOut = errors.New("futex: timed out")

// Wait sleeps while *word holds val, for at most timeout (Forever: no
// limit). It returns nil when woken, when *word did not hold val, or when
// a signal interrupted the sleep: the caller looks at the word again in
// every case. It returns ErrTimedOut when the timeout passed first.
func Wait(word *atomic.Uint32, val uint32, timeout time.Duration) error {
	var ts *unix.Timespec
	if timeout >= 0 {
		t := unix.NsecToTimespec(int64(timeout))
		ts = &t
	}
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), opWait, uintptr(val),
		uintptr(unsafe.Pointer(ts)), 0, 0)
	if errno == unix.ETIMEDOUT {
		return ErrTimedOut
	}
	return nil // woken, EAGAIN (the word changed) or EINTR
}

// Wake wakes up to n sleepers on word, in any process, and returns how many
// it woke.
func Wake(word *atomic.Uint32, n int) int {
	woken, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), opWake, uintptr(n), 0, 0, 0)
	if errno != 0 {
		return 0
	}
	return int(woken)
}
