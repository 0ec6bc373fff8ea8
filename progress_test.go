package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// progressScript maps 50 items that take 20 ms each, with chunksize 1 on 2
// workers: about half a second, so the bar (redrawn at most every 0.1 s) is
// drawn several times; then an imap of the same; then a child maps 30 such
// items in a pool of its own.
const progressScript = `local mp = require("mp")
local pool = mp.Pool{processes = 2, progress = true}
local items = {}
for i = 1, 50 do items[i] = i end
print(#pool:map(function(x) mp.sleep(0.02) return x end, items, 1))
local n = 0
for _ in pool:imap(function(x) mp.sleep(0.02) return x end, items, 1) do n = n + 1 end
print(n)
local child = mp.Process{target = function()
  local inner = mp.Pool{processes = 2, progress = true}
  local thirty = {}
  for i = 1, 30 do thirty[i] = i end
  print(#inner:map(function(x) mp.sleep(0.02) return x end, thirty, 1))
  inner:close()
  inner:join()
end}
child:start()
child:join()
`

// TestProgressNotDrawnWithoutTerminal: --progress and mp.Pool{progress =
// true} draw nothing when stderr is not a terminal, so logs and pipes stay
// clean.
func TestProgressNotDrawnWithoutTerminal(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"p.lua": progressScript})
	mphost(t, dir, "run", "--progress", "p.lua").expect(t, 0, "50\n50\n30\n", "")
}

// TestProgressDrawnOnTerminal: with stderr a terminal (a pty here), the
// pool's map and imap draw a bar there, named by the method, counting the
// items, and so does a pool in a child (the host draws it); stdout (a pipe)
// gets only what the script prints.
func TestProgressDrawnOnTerminal(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"p.lua": progressScript})
	terminal, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	defer terminal.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "p.lua")
	cmd.Dir = dir
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	drawn := make(chan string)
	go func() {
		b, _ := io.ReadAll(terminal) // ends with EIO once the child has closed the tty
		drawn <- string(b)
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("mphost run: %v", err)
	}
	var bar string
	select {
	case bar = <-drawn:
	case <-ctx.Done():
		t.Fatal("the terminal's output did not end")
	}
	if stdout.String() != "50\n50\n30\n" {
		t.Errorf("stdout %q, want the two counts only", stdout.String())
	}
	for _, want := range []string{"Pool.map", "Pool.imap", "/50", "items/s", "/30"} {
		if !strings.Contains(bar, want) {
			t.Errorf("the terminal shows no %q:\n%q", want, bar)
		}
	}
}
