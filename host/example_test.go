package host_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mphost/mphost/host"
)

// A Go program runs a script and gets back what its chunk returns.
func Example() {
	h := host.New(host.Options{Globals: map[string]any{"n": 5, "names": []any{"a", "b"}}})
	defer h.Close()
	res, err := h.RunString(context.Background(), "hello.lua", `
		local mp = require("mp")
		print("hello from", mp.current_process().name)
		return n * 2, names, {x = 1}
	`)
	fmt.Println(res, err)
	// Output:
	// hello from	MainProcess
	// [10 [a b] map[x:1]] <nil>
}

// A test binary serves as its own hosts' children: TestMain calls
// host.ServeChild first thing (a program's main does the same).
func ExampleServeChild() {
	_ = func(m *testing.M) { // func TestMain(m *testing.M)
		host.ServeChild()
		os.Exit(m.Run())
	}
}
