package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineRecorder records each Write it gets, and signals it on wrote.
type lineRecorder struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{} // cap 1
}

func newLineRecorder() *lineRecorder { return &lineRecorder{wrote: make(chan struct{}, 1)} }

func (l *lineRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, string(p))
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lineRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.writes...)
}

// What tasks print reaches the run's writers in whole lines, in order per task, stdout and
// stderr apart: a line written in pieces comes whole, a last line without a newline gets one,
// a line longer than a message comes in pieces, each a line.
func TestTaskOutputRelayed(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	stdout, stderr := newLineRecorder(), newLineRecorder()
	r := newRun(t, c, RunConfig{InFlight: 4, Stdout: stdout, Stderr: stderr})
	wc := connect(t, s.URL())
	long := strings.Repeat("x", maxOutputMessage+10)
	startWorker(t, wc, WorkerConfig{Slots: 2, Run: func(_ context.Context, tk Task) ([]byte, error) {
		out, errOut := wc.TaskOutput(tk, false), wc.TaskOutput(tk, true)
		name := string(tk.Payload)
		for i := range 50 {
			fmt.Fprintf(out, "%s line ", name) // a line in two writes
			fmt.Fprintf(out, "%d\n", i)
		}
		fmt.Fprintf(errOut, "%s warns\n%s ends", name, name)
		if name == "a" {
			fmt.Fprint(out, long)
		}
		if err := out.Close(); err != nil {
			return nil, err
		}
		return nil, errOut.Close()
	}})
	submit(t, r, "a")
	submit(t, r, "b")
	next(t, r)
	next(t, r)
	want := map[string][]string{}
	for _, name := range []string{"a", "b"} {
		for i := range 50 {
			want[name] = append(want[name], fmt.Sprintf("%s line %d", name, i))
		}
	}
	want["a"] = append(want["a"], long[:maxOutputMessage], long[maxOutputMessage:])
	byTask := map[string][]string{}
	for _, w := range waitLines(t, stdout, 102) {
		if !strings.HasSuffix(w, "\n") {
			t.Fatalf("a write of %q: not whole lines", w)
		}
		for _, line := range strings.Split(strings.TrimSuffix(w, "\n"), "\n") {
			task := "a"
			if strings.HasPrefix(line, "b ") {
				task = "b"
			}
			byTask[task] = append(byTask[task], line)
		}
	}
	for name, lines := range want {
		if fmt.Sprint(byTask[name]) != fmt.Sprint(lines) {
			t.Errorf("task %s's stdout lines, in order:\n%.300q\nwant\n%.300q", name, byTask[name], lines)
		}
	}
	errByTask := map[string]string{}
	for _, line := range strings.SplitAfter(strings.Join(waitLines(t, stderr, 4), ""), "\n") {
		if line != "" {
			errByTask[line[:1]] += line
		}
	}
	for _, name := range []string{"a", "b"} {
		if want := fmt.Sprintf("%s warns\n%s ends\n", name, name); errByTask[name] != want {
			t.Errorf("task %s's stderr %q, want %q", name, errByTask[name], want)
		}
	}
}

// waitLines waits until rec's writes hold n lines, and returns the writes.
func waitLines(t *testing.T, rec *lineRecorder, n int) []string {
	t.Helper()
	deadline := time.After(bound)
	for {
		writes := rec.all()
		lines := 0
		for _, w := range writes {
			lines += strings.Count(w, "\n")
		}
		if lines >= n {
			return writes
		}
		select {
		case <-rec.wrote:
		case <-deadline:
			t.Fatalf("%d lines did not come within %v: %.300q", n, bound, writes)
		}
	}
}

// After its connection came back, a worker's output goes as requests until the run answers
// one: a line written while the run's subscription is missing (the run has not yet connected
// to a restarted server) reaches the run once it subscribes again.
func TestOutputAfterReconnect(t *testing.T) {
	s := startServer(t)
	c := connect(t, s.URL())
	stdout := newLineRecorder()
	r := newRun(t, c, RunConfig{InFlight: 1, Stdout: stdout})
	wc := connect(t, s.URL())
	out := wc.TaskOutput(Task{Run: r.ID()}, false)
	wc.reconnects.Add(1) // as the reconnect handler does
	listening := r.subs[len(r.subs)-1]
	if listening.Subject != c.subject(kindOutput, r.ID()) {
		t.Fatalf("the run's last subscription is %s, not its output's", listening.Subject)
	}
	if err := listening.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	before, err := s.srv.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := fmt.Fprintln(out, "printed while the run was away")
		wrote <- err
	}()
	deadline := time.Now().Add(bound)
	for { // until the line reached the server once, and found no one
		v, err := s.srv.Varz(nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.InMsgs > before.InMsgs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the line did not reach the server within %v", bound)
		}
		time.Sleep(time.Millisecond)
	}
	again, err := c.nc.Subscribe(c.subject(kindOutput, r.ID()), r.onOutput)
	if err != nil {
		t.Fatal(err)
	}
	r.subs[len(r.subs)-1] = again
	if err := waitFor(t, wrote, "end of the Write"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stdout.wrote, "the line at the run")
	if got := stdout.all(); len(got) != 1 || got[0] != "printed while the run was away\n" {
		t.Errorf("the run got %q", got)
	}
	// The run answered: the writer publishes again.
	fmt.Fprintln(out, "and after")
	waitFor(t, stdout.wrote, "the next line at the run")
	if out.heard != wc.reconnects.Load() {
		t.Errorf("the writer does not know the run listens")
	}
}
