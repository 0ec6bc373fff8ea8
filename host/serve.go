package host

import (
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
// [Options.Worker]) fails its first start of a process with an error that
// says so.
func ServeChild() {
	started.Store(true)
	if child.IsWorker() {
		child.ServeWorker() // never returns
	}
}
