package host

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/mphost/mphost/internal/child"
)

// ServeChild makes this process serve as an mphost child when the host
// started it as one, and then exits; otherwise it returns at once. Every
// program that embeds mphost calls it first thing in main, and every test
// binary first thing in TestMain, because the host starts its children
// from the program's own binary:
//
//	func main() {
//		host.ServeChild()
//		...
//	}
//
//	func TestMain(m *testing.M) {
//		host.ServeChild()
//		os.Exit(m.Run())
//	}
//
// A binary that does not call it (and names no other worker in
// [Options.Worker]) fails its first start of a process, within a second or
// two, with an error that says so. Its re-executed copy never runs on as a
// host: it exits at its first [New], or after a second, and a test binary's
// copy runs none of its tests.
func ServeChild() {
	started.Store(true)
	if child.IsWorker() {
		serving.Store(true)
		child.ServeChild() // never returns
	}
}

// serving is set when this process serves as a child.
var serving atomic.Bool

// notServedWait is how long a process started as a child may run before it
// must have called ServeChild.
const notServedWait = time.Second

// exitNotServed is the exit status of a process started as a child that did
// not call ServeChild.
const exitNotServed = 78

// notServedHint is what an embedder who forgot ServeChild is told.
const notServedHint = "call host.ServeChild() at the top of main (and of TestMain in tests), or name a worker binary in host.Options.Worker"

func init() {
	if child.IsWorker() {
		time.AfterFunc(notServedWait, func() {
			if !serving.Load() {
				notServed()
			}
		})
	}
}

// notServed ends a process that was started as a child but runs on as the
// program it is, having not called ServeChild.
func notServed() {
	fmt.Fprintf(os.Stderr, "mphost: %s was started as an mphost child but did not call host.ServeChild(): %s\n", os.Args[0], notServedHint)
	os.Exit(exitNotServed)
}

// workerCommand is the command that starts a child from this program's own
// binary. In a test binary it runs no test, should the binary have no
// TestMain that calls ServeChild.
func workerCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	if flag.Lookup("test.run") != nil {
		return []string{exe, "-test.run=^$", child.WorkerArg}
	}
	return []string{exe, child.WorkerArg}
}
