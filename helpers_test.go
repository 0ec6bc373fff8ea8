package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mphost/mphost/internal/child"
)

// The helpers of this file are shared by the process, pool and objects
// tests: comparing output, a short TMPDIR, a session that drives a run of
// the binary as it runs, and looking at the host's children in /proc.

// splitBlocks cuts text into blocks, each starting at a line that starts
// with head; text before the first such line is a block of its own.
func splitBlocks(text, head string) []string {
	var blocks []string
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if len(blocks) == 0 || strings.HasPrefix(line, head) {
			blocks = append(blocks, "")
		}
		blocks[len(blocks)-1] += line
	}
	return blocks
}

// lineDiff returns the lines that differ between want and got, or "".
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n-%q\n+%q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// shortTempDir is a new empty folder for a run's TMPDIR, with a path short
// enough for the run's socket paths (t.TempDir's is not: see
// TestProcessStartWithLongTMPDIR).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// session is a run of the binary that a test drives while it runs: it reads
// stdout as it comes, answers on stdin, signals the process.
type session struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *lineBuffer
	errBuf lineBuffer
	exited chan struct{} // closed once Wait has returned
	err    error         // from Wait, once exited is closed
}

// startSession starts the binary in dir with extra environment variables,
// in a process group of its own when setpgid is set. The test's cleanup
// kills it (and its group) if it still runs.
func startSession(t *testing.T, dir string, env []string, setpgid bool, args ...string) *session {
	t.Helper()
	s := &session{out: newLineBuffer(), exited: make(chan struct{})}
	s.errBuf.changed = make(chan struct{})
	s.cmd = exec.Command(binary, args...)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, &s.errBuf
	s.cmd.WaitDelay = 5 * time.Second
	if setpgid {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = stdin
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		if setpgid {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		} else {
			s.cmd.Process.Kill()
		}
		<-s.exited
	})
	return s
}

// nextLine returns the next line of stdout, which must start with prefix.
func (s *session) nextLine(t *testing.T, timeout time.Duration, prefix string) string {
	t.Helper()
	line, ok := s.out.next(timeout, s.exited)
	if !ok {
		t.Fatalf("no line starting %q on stdout within %v (exited: %v)\nstdout:\n%s\nstderr:\n%s",
			prefix, timeout, s.hasExited(), s.stdout(), s.stderr())
	}
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("stdout line %q, want one starting %q\nstderr:\n%s", line, prefix, s.stderr())
	}
	return line
}

// answer writes an empty line to the script's stdin.
func (s *session) answer(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, "\n"); err != nil {
		t.Fatalf("writing to stdin: %v\nstderr:\n%s", err, s.stderr())
	}
}

func (s *session) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// wait waits for the binary to exit and returns its exit status; it fails
// the test if the binary is still running after timeout.
func (s *session) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		t.Fatalf("still running %v later\nstdout:\n%s\nstderr:\n%s", timeout, s.stdout(), s.stderr())
	}
	var exitErr *exec.ExitError
	if s.err != nil && !errors.As(s.err, &exitErr) {
		t.Fatalf("wait: %v", s.err)
	}
	return s.cmd.ProcessState.ExitCode() // -1 when killed by a signal
}

func (s *session) stdout() string { return s.out.String() }

func (s *session) stderr() string { return s.errBuf.String() }

// lineBuffer collects what a process writes and hands out its lines as
// they complete.
type lineBuffer struct {
	mu      sync.Mutex
	data    bytes.Buffer
	read    int           // bytes of data handed out as lines
	changed chan struct{} // closed, and replaced, at each write
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{})} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data.String()
}

// next returns the next whole line, without its newline; ok is false if
// none comes within timeout, or the process has exited (done is closed)
// without writing one.
func (b *lineBuffer) next(timeout time.Duration, done <-chan struct{}) (line string, ok bool) {
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		rest := b.data.Bytes()[b.read:]
		changed := b.changed
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			b.read += i + 1
			b.mu.Unlock()
			return string(rest[:i]), true
		}
		b.mu.Unlock()
		if done == nil {
			return "", false
		}
		select {
		case <-changed:
		case <-done:
			// Wait has returned, so all the output is in: one more look.
			done = nil
		case <-deadline:
			return "", false
		}
	}
}

// poll calls cond every 20ms until it is true or timeout passes, and
// reports whether it became true.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStat reads a process's state letter and parent pid from
// /proc/PID/stat; ok is false when there is no such process.
func procStat(pid int) (state byte, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, true
}

// childrenOf lists the processes whose parent is pid: those that run, and
// the zombies it has not reaped.
func childrenOf(pid int) (live, zombies []int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, ok := procStat(n)
		switch {
		case !ok || ppid != pid:
		case state == 'Z' || state == 'X':
			zombies = append(zombies, n)
		default:
			live = append(live, n)
		}
	}
	return live, zombies
}

// isRunningWorker reports whether pid is an mphost worker that has not
// ended. A zombie has ended: only its reaping is left. A pid taken since by
// another program is not a worker. The test reaps zombies of its own.
func isRunningWorker(pid int) bool {
	state, ppid, ok := procStat(pid)
	if !ok {
		return false
	}
	if state == 'Z' || state == 'X' {
		if ppid == os.Getpid() {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(child.WorkerArg))
}

// stillRunning waits up to timeout for the pids to end and returns those
// that still run.
func stillRunning(pids map[int]bool, timeout time.Duration) []int {
	var left []int
	poll(timeout, func() bool {
		left = left[:0]
		for pid := range pids {
			if isRunningWorker(pid) {
				left = append(left, pid)
			}
		}
		return len(left) == 0
	})
	slices.Sort(left)
	return left
}

// killWorkers kills whichever of pids still run as mphost workers, so that
// a failed test leaves nothing behind.
func killWorkers(pids []int) {
	for _, pid := range pids {
		if isRunningWorker(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func setOf(pids []int) map[int]bool {
	m := make(map[int]bool, len(pids))
	for _, pid := range pids {
		m[pid] = true
	}
	return m
}

// bigTestsEnv names the environment variable that asks the tests to run at
// the sizes their issues name (a 4 GB pipe flood, a million objects) rather
// than at the smaller sizes of the normal run, which test the same behaviour.
const bigTestsEnv = "MPHOST_BIG_TESTS"

// bigTests reports whether the environment asks for the big sizes.
func bigTests() bool { return os.Getenv(bigTestsEnv) == "1" }

// raiseParallel lets 4 tests per CPU run at once, unless -parallel says
// otherwise: the tests here spend their time waiting for the processes
// they start (a timeout, a host's idle children let go), not computing,
// and go test's default of one per CPU leaves the CPUs idle.
func raiseParallel() {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
	}
}
