package host_test

import (
	"context"
	"fmt"

	"github.com/mphost/mphost/host"
	"github.com/mphost/mphost/internal/vm"
)

// A Go program runs a script in three lines.
func Example() {
	h := host.New(host.Options{})
	err := h.Run(context.Background(), vm.Chunk{Name: "hello.lua", Source: `
		local mp = require("mp")
		print("hello from", mp.current_process().name)
	`}, nil)
	fmt.Println("error:", err)
	// Output:
	// hello from	MainProcess
	// error: <nil>
}
