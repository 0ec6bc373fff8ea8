package objects

import (
	"context"
	"time"
)

// Owner is the process that makes a call: 0 is the main script, otherwise the host's id of a
// child process. Ids of dead processes must not be reused.
type Owner uint64

// MainScript is the Owner of calls made by the main script.
const MainScript Owner = 0

// Wait says how long a blocking call may wait. The zero Wait does not wait at all. With Block
// set, Forever waits with no time limit and otherwise Timeout is the limit; a Timeout of zero or
// less with Block set tries once without waiting, like Python's acquire(timeout=0).
type Wait struct {
	Block   bool          // false: don't wait at all
	Forever bool          // with Block: no timeout
	Timeout time.Duration // with Block and not Forever: the longest wait
}

// DontWait is the Wait of a non-blocking call (Python's block=False, put_nowait, get_nowait).
var DontWait = Wait{}

// WaitForever is the Wait of a blocking call with no timeout (Python's timeout=None).
var WaitForever = Wait{Block: true, Forever: true}

// WaitUpTo is the Wait of a blocking call that gives up after d.
func WaitUpTo(d time.Duration) Wait { return Wait{Block: true, Timeout: d} }

// mayBlock reports whether the call may wait at all.
func (w Wait) mayBlock() bool { return w.Block && (w.Forever || w.Timeout > 0) }

// deadline is the time limit of one blocking call. It is started once per call, so a call that
// wakes, finds nothing and waits again keeps its original limit.
type deadline struct {
	timer *time.Timer // nil: no limit
}

// start starts the deadline of a call that may block (see mayBlock).
func (w Wait) start() deadline {
	if w.Forever {
		return deadline{}
	}
	return deadline{timer: time.NewTimer(w.Timeout)}
}

// stop releases the timer.
func (d deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
}

// await blocks until wake is closed (nil), the deadline passes (errTimedOut) or ctx is done
// (ctx.Err()). When several happen at once, any of them may be reported: callers re-check their
// object's state under its mutex afterwards.
func (d deadline) await(ctx context.Context, wake <-chan struct{}) error {
	var expired <-chan time.Time
	if d.timer != nil {
		expired = d.timer.C
	}
	select {
	case <-wake:
		return nil
	case <-expired:
		return errTimedOut
	case <-ctx.Done():
		return ctx.Err()
	}
}
