// Package memfloor holds the two floor programs of BenchmarkChildMemory, the
// programs an idle mphost child is compared with: bare, a Go program that
// does nothing, and linked, one that links what a child links (gRPC,
// go-plugin, gopher-lua), serves gRPC on a unix socket and makes one Lua
// state. Each prints "PID <its pid>" once ready and ends at the first line
// it reads from stdin, as workloads/child_idle.lua's script does.
package memfloor

import (
	"bufio"
	"fmt"
	"os"
)

// Idle prints "PID <pid>" and waits for one line (or the end) on stdin.
func Idle() {
	fmt.Printf("PID %d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
}
