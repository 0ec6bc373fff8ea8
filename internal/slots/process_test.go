package slots

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests that need several processes re-execute the test binary with
// helperEnv set: the helper maps the memory from descriptor 3, as a child
// of mphost maps it from the one it inherits, does what helperEnv says and
// exits; it tells the test where it is by lines on its stdout, and the
// test tells it to go on by closing its stdin.
const helperEnv = "SLOTS_TEST_HELPER"

// bound is how long a test waits for another process: a bound against a
// hang, never a measure of speed.
const bound = 60 * time.Second

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		if err := helper(strings.Fields(spec)); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper runs one helper process: args are the mode, then numbers.
func helper(args []string) error {
	mem, err := Open(3)
	if err != nil {
		return err
	}
	n := make([]uint64, len(args)-1)
	for i, a := range args[1:] {
		if n[i], err = strconv.ParseUint(a, 10, 64); err != nil {
			return err
		}
	}
	ctx := context.Background()
	switch args[0] {
	case "count": // lock, counter, seat, n, gate: n increments of the counter under the lock
		return increments(mem.Mutex(n[0]), mem.Slot(n[1]), Seat(n[2]), int(n[3]), mem.Semaphore(n[4]))
	case "hold": // lock, semaphore, seat: hold both until stdin closes
		seat := Seat(n[2])
		if _, _, err := mem.Mutex(n[0]).Acquire(ctx, seat, Forever); err != nil {
			return err
		}
		if _, _, err := mem.Semaphore(n[1]).Acquire(ctx, seat, Forever); err != nil {
			return err
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin)
		mem.Semaphore(n[1]).Release(seat)
		return mem.Mutex(n[0]).Release(seat)
	case "take": // lock, semaphore, seat: take both, say how, give them back
		seat := Seat(n[2])
		ok, abandoned, err := mem.Mutex(n[0]).Acquire(ctx, seat, Forever)
		fmt.Println("lock", ok, abandoned, err)
		ok, abandoned, err = mem.Semaphore(n[1]).Acquire(ctx, seat, Forever)
		fmt.Println("semaphore", ok, abandoned, err)
		mem.Semaphore(n[1]).Release(seat)
		return mem.Mutex(n[0]).Release(seat)
	case "permits": // semaphore, inside, seat, n, gate: n turns inside the semaphore
		return permitTurns(mem.Semaphore(n[0]), mem.Slot(n[1]), Seat(n[2]), int(n[3]), mem.Semaphore(n[4]))
	default:
		return fmt.Errorf("no mode %q", args[0])
	}
}

// increments adds 1 to counter n times, each under the lock, with a load
// and a store that lose counts unless the lock excludes the others. It
// starts once it takes a permit of gate, so that all start together.
func increments(lock *Mutex, counter *Slot, seat Seat, n int, gate *Semaphore) error {
	if _, _, err := gate.Acquire(context.Background(), seat, Forever); err != nil {
		return err
	}
	for range n {
		lock.Acquire(context.Background(), seat, Forever)
		c, _ := counter.Load()
		for range 10 { // a wider window for another's increment, were it let in
			counter.Load()
		}
		counter.Store(c + 1)
		lock.Release(seat)
	}
	return nil
}

// permitTurns takes a permit n times, counting the holders inside while it
// holds it, and fails if ever more are inside, or free, than the bound. It
// starts once it takes a permit of gate.
func permitTurns(sem *Semaphore, inside *Slot, seat Seat, n int, gate *Semaphore) error {
	if _, _, err := gate.Acquire(context.Background(), seat, Forever); err != nil {
		return err
	}
	limit := int(sem.r.initial.Load())
	for i := range n {
		if _, _, err := sem.Acquire(context.Background(), seat, Forever); err != nil {
			return err
		}
		if in, _ := inside.Add(1); in > float64(limit) || in < 1 {
			return fmt.Errorf("turn %d: %v inside a semaphore of %d", i, in, limit)
		}
		if v := sem.Value(); v < 0 || v > limit {
			return fmt.Errorf("turn %d: %d free permits of %d", i, v, limit)
		}
		inside.Add(-1)
		if err := sem.Release(seat); err != nil {
			return err
		}
	}
	return nil
}

// helperProc is a helper process started by a test.
type helperProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startHelper starts a helper process with the memory as its descriptor 3
// and args as its work; the test's cleanup kills and reaps it if it is
// still running.
func startHelper(t testing.TB, mem *Slots, args ...any) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.TrimSpace(fmt.Sprintln(args...)))
	cmd.ExtraFiles = []*os.File{mem.File()}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProc{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		defer close(h.lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return h
}

// line waits for the helper's next line of output.
func (h *helperProc) line(t testing.TB) string {
	t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			t.Fatalf("helper %v ended without a line", h.cmd.Args)
		}
		return l
	case <-time.After(bound):
		t.Fatalf("no line from helper %v in %v", h.cmd.Args, bound)
	}
	return ""
}

// wait waits for the helper to exit and fails the test unless it exits 0.
func (h *helperProc) wait(t testing.TB) {
	t.Helper()
	h.stdin.Close()
	done := make(chan error, 1)
	go func() {
		for range h.lines { // the output to its end, before Wait closes the pipe
		}
		done <- h.cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("helper %v: %v", h.cmd.Args, err)
		}
	case <-time.After(bound):
		h.cmd.Process.Kill()
		<-done
		t.Fatalf("helper %v did not end in %v", h.cmd.Args, bound)
	}
}

// crowd is workers, each in its own seat, that wait at a gate (the
// semaphore of gateID, with no permit) so as to start together: helper
// processes and goroutines of this process.
type crowd struct {
	gate  *Semaphore
	seats []Seat // the workers' seats: the helpers' first
	procs []*helperProc
	wg    sync.WaitGroup
	errs  chan error
	size  int
}

// gather starts procs helper processes in mode, each given id, counterID,
// its seat, n and gateID, and gors goroutines that run work in their seat;
// it returns once all of them wait at the gate.
func gather(t testing.TB, s *Slots, mode string, id uint64, procs, gors, n int, work func(Seat, *Semaphore) error) *crowd {
	t.Helper()
	c := &crowd{gate: s.Semaphore(gateID), errs: make(chan error, gors), size: procs + gors}
	c.gate.Init(0, false)
	c.seats = seats(t, s, c.size)
	for _, seat := range c.seats[:procs] {
		c.procs = append(c.procs, startHelper(t, s, mode, id, counterID, seat, n, gateID))
	}
	for _, seat := range c.seats[procs:] {
		c.wg.Go(func() { c.errs <- work(seat, c.gate) })
	}
	waitFor(t, "every worker at the gate", func() bool { return c.gate.r.waiters.Load() == uint32(c.size) })
	return c
}

// run lets the crowd go and waits until all of it has ended; an error of a
// goroutine or of a helper's exit fails t.
func (c *crowd) run(t testing.TB) {
	t.Helper()
	for range c.size {
		c.gate.Release(0)
	}
	c.wg.Wait()
	close(c.errs)
	for err := range c.errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, h := range c.procs {
		h.wait(t)
	}
}
