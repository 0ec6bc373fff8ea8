package child

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"time"

	"github.com/mphost/mphost/internal/vm"
)

// EnvMemoryLimit names the environment variable in which the host gives
// its children the run's memory limit (mphost run --memory-limit), in
// bytes; a process's own memory_limit takes its place.
const EnvMemoryLimit = "MPHOST_MEMORY_LIMIT"

// ExitOutOfMemory is the exitcode of a process that ran out of memory,
// over its limit or because the system had no more: -9, as when Linux's
// OOM killer ends a process with SIGKILL, which is what a Python user sees
// then.
const ExitOutOfMemory = -int(syscall.SIGKILL)

// memoryCheckEvery is how often a child looks at its heap while a limit
// holds.
const memoryCheckEvery = 10 * time.Millisecond

// runMemoryLimit is the run's memory limit, read once at the child's start.
var runMemoryLimit, _ = strconv.ParseInt(os.Getenv(EnvMemoryLimit), 10, 64)

// memoryWatch bounds the memory of the process a child runs: Go's soft
// limit (debug.SetMemoryLimit) makes the collector work to stay under it,
// and a watchdog ends the process when what is live after a collection is
// still over it, with one line on stderr naming it and its limit.
type memoryWatch struct {
	stop, done chan struct{}
}

// watchMemory starts the watch of process name for limit bytes (0: the
// run's limit); it returns nil when there is no limit.
func watchMemory(limit int64, name string, stderr io.Writer) *memoryWatch {
	if limit <= 0 {
		limit = runMemoryLimit
	}
	if limit <= 0 {
		return nil
	}
	debug.SetMemoryLimit(limit)
	w := &memoryWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(limit, name, stderr)
	return w
}

func (w *memoryWatch) run(limit int64, name string, stderr io.Writer) {
	defer close(w.done)
	used := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(memoryCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		metrics.Read(used)
		if int64(used[0].Value.Uint64()-used[1].Value.Uint64()) <= limit {
			continue
		}
		runtime.GC() // what is over the limit may be garbage
		metrics.Read(live)
		if heap := int64(live[0].Value.Uint64()); heap > limit {
			fmt.Fprintf(stderr, "Process %s (pid %d) ran out of memory: its heap passed its limit of %s (exitcode %d)\n",
				name, os.Getpid(), vm.FormatSize(limit), ExitOutOfMemory)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// end stops the watch and lifts the soft limit, for the next process.
func (w *memoryWatch) end() {
	if w == nil {
		return
	}
	close(w.stop)
	<-w.done
	debug.SetMemoryLimit(math.MaxInt64)
}
