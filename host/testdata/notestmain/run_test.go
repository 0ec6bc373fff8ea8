// Package notestmain is a test binary without TestMain: its children must
// run none of its tests, and its first start of a process must fail with
// an error that says to call host.ServeChild.
package notestmain

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mphost/mphost/host"
)

func TestStartsAProcess(t *testing.T) {
	fmt.Fprintln(os.Stderr, "notestmain: the suite runs")
	h := host.New(host.Options{})
	defer h.Close()
	start := time.Now()
	_, err := h.RunString(context.Background(), "job.lua", `
		local p = require("mp").Process{target = function() end}
		p:start()
		p:join()`)
	fmt.Printf("after %.1fs: %v\n", time.Since(start).Seconds(), err)
}
