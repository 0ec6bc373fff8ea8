package vm

import (
	"context"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/ops"
)

// Runtime is the seam between a VM and the world outside it: everything a
// builtin of the `mp` module needs that its own VM cannot do alone. The host
// implements it directly for the main script; a child process implements it
// with calls to the host. Every process lives in the host's table, whoever
// started it; a VM refers to the processes it started by their ids there.
type Runtime interface {
	// Self describes the process this VM runs in.
	Self() ProcessInfo
	// Parent describes the process that started this one; ok is false in the
	// main script.
	Parent() (info ProcessInfo, ok bool)

	// Spawn starts a process that runs the encoded payload (see
	// [VM.RunProcess]) and returns its status.
	Spawn(ctx context.Context, req SpawnRequest) (ProcessStatus, error)
	// Wait waits until the process has ended, the timeout passes (when
	// forever is false) or ctx is done, and returns its status then.
	Wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (ProcessStatus, error)
	// Status returns a process's status now.
	Status(id uint64) (ProcessStatus, error)
	// Signal sends a signal to a running process.
	Signal(id uint64, sig syscall.Signal) error
	// Release forgets an ended process.
	Release(id uint64) error

	// NewObject creates a host-owned object of a kind ("Lock", "Queue",
	// "Connection" for a Pipe, ...) and returns its id (a Pipe's two ends).
	NewObject(kind string, args ObjectArgs) ([]uint64, error)
	// Invoke performs an operation on a host-owned object on behalf of
	// this process. A blocking operation ends early when ctx is done.
	Invoke(ctx context.Context, call ObjectCall) (ObjectReply, error)
}

// LockTaker is a Runtime that takes and gives locks and semaphore permits
// itself (a child, in the memory it shares with the host): the methods
// acquire and release of Lock, RLock, Semaphore, BoundedSemaphore,
// Condition and Value ask it before they make an ObjectCall for Invoke. op
// is the method's operation; done is false when Invoke must do it.
type LockTaker interface {
	Runtime
	// TakeLock acquires; status is "abandoned" or "".
	TakeLock(ctx context.Context, op ops.Op, id uint64, wait Wait) (ok bool, status string, done bool, err error)
	// GiveLock releases.
	GiveLock(op ops.Op, id uint64) (done bool, err error)
}

// ProcessInfo names a process as `mp.current_process()` shows it.
type ProcessInfo struct {
	Name string // "MainProcess" for the main script, "Process-N" or the given name otherwise
	Pid  int    // the operating-system process id
	// Identity numbers the process among its parent's children, with its
	// ancestors' numbers before it: "" for the main process, "2", "2:1".
	Identity string
	// ID is the process's id in the runtime's table: 0 for the main process.
	ID uint64
}

// SpawnRequest is what a VM asks the runtime to start.
type SpawnRequest struct {
	Name     string
	Daemon   bool
	Identity string // the new process's identity (see ProcessInfo)
	Kind     StartKind
	// Payload is what the kind runs, encoded: {instance, target, args,
	// kwargs, ...} for a process, {pool, initializer, initargs, ...} for a
	// pool worker (see VM.RunProcess).
	Payload []byte
}

// StartKind says what a started process runs.
type StartKind int

const (
	// StartProcess runs an mp.Process object's run method.
	StartProcess StartKind = iota
	// StartPoolWorker runs a pool's worker loop: it takes the pool's tasks
	// until the pool closes or retires it. Only the host starts these, for
	// the pools it owns.
	StartPoolWorker
)

// ProcessStatus is a process's state as its owner sees it.
type ProcessStatus struct {
	ID       uint64
	Pid      int
	Alive    bool
	ExitCode int // when not Alive: 0, 1 after an error, n after os.exit(n), -N after signal N
}

// ValueCopier is a Runtime whose Invoke keeps nothing of call.Value.Data
// once it returns (it copies what it sends). The VM then encodes the items
// it puts and sends in one reused buffer: a 10 KB queue item costs no
// allocation in the sender.
type ValueCopier interface {
	Runtime
	CopiesValues()
}
