// Command noserve embeds mphost but forgets host.ServeChild: its first
// start of a process must fail with an error that says to call it.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mphost/mphost/host"
)

func main() {
	h := host.New(host.Options{})
	fmt.Fprintln(os.Stderr, "noserve: the host is made") // never in a child
	defer h.Close()
	start := time.Now()
	_, err := h.RunString(context.Background(), "job.lua", `
		local p = require("mp").Process{target = function() end}
		p:start()
		p:join()`)
	fmt.Printf("after %.1fs: %v\n", time.Since(start).Seconds(), err)
}
