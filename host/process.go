package host

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mphost/mphost/internal/objects"
	"github.com/mphost/mphost/internal/vm"
)

// exitText says how a pool worker ended, for the script author; "" for a
// normal exit.
func exitText(p *process, code int) string {
	switch {
	case code < 0:
		sig := syscall.Signal(-code)
		return fmt.Sprintf("worker %s (pid %d) died: killed by signal %d (%s)", p.name, p.pid, -code, unix.SignalName(sig))
	case code > 0:
		return fmt.Sprintf("worker %s (pid %d) exited with code %d", p.name, p.pid, code)
	}
	return ""
}

// process is one entry of the host's process table. Every process of a run
// is the host's own direct child, whoever started it; parent says who did.
type process struct {
	id        uint64
	name      string
	identity  string
	daemon    bool
	parent    uint64 // 0: the main script
	pid       int
	childProc *childProc
	pool      *objects.Pool // the pool it works for, if it is a pool worker
	link      *runLink      // the cluster run its pool works for, on a cluster worker

	done     chan struct{} // closed once the child is reaped and its output drained
	exitCode int           // valid once done is closed
}

func (p *process) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) status() vm.ProcessStatus {
	s := vm.ProcessStatus{ID: p.id, Pid: p.pid, Alive: !p.ended()}
	if !s.Alive {
		s.ExitCode = p.exitCode
	}
	return s
}

// table is the host's process table.
type table struct {
	mu     sync.Mutex
	nextID uint64
	procs  map[uint64]*process
}

func (t *table) add(p *process) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.procs == nil {
		t.procs = make(map[uint64]*process)
	}
	t.nextID++
	p.id = t.nextID
	t.procs[p.id] = p
}

func (t *table) get(id uint64) (*process, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.procs[id]
	if !ok {
		return nil, fmt.Errorf("no process with id %d", id)
	}
	return p, nil
}

func (t *table) remove(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.procs, id)
}

// list returns the processes that match keep.
func (t *table) list(keep func(*process) bool) []*process {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*process
	for _, p := range t.procs {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// ids returns the ids of processes.
func ids(ps []*process) []uint64 {
	out := make([]uint64, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

// wait waits for a process to end, for the timeout (unless forever) or
// for ctx.
func (t *table) wait(ctx context.Context, id uint64, timeout time.Duration, forever bool) (vm.ProcessStatus, error) {
	p, err := t.get(id)
	if err != nil {
		return vm.ProcessStatus{}, err
	}
	var expire <-chan time.Time
	if !forever {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expire = timer.C
	}
	select {
	case <-p.done:
	case <-expire:
	case <-ctx.Done():
		return p.status(), ctx.Err()
	}
	return p.status(), nil
}

// signal sends sig to a running process.
func (t *table) signal(id uint64, sig syscall.Signal) error {
	p, err := t.get(id)
	if err != nil {
		return err
	}
	if p.ended() {
		return nil
	}
	return p.childProc.signal(p, sig)
}

// release forgets an ended process.
func (t *table) release(id uint64) error {
	p, err := t.get(id)
	if err != nil {
		return err
	}
	if !p.ended() {
		return fmt.Errorf("%s (pid %d) is still running", p.name, p.pid)
	}
	t.remove(id)
	return nil
}
