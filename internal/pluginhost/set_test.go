package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCalls(t *testing.T) {
	v := luaVM(t, newSet(t))
	queue := v.L.NewUserData()
	queue.Value = queueHandle{}
	v.L.SetGlobal("queue", queue)
	for _, c := range []struct{ src, want string }{
		{`return hello.greet("world")`, "hello, world"},
		{`return hello.add(2, 3.5)`, "5.5"},
		{`return select("#", hello.echo(1, nil, "x", nil))`, "4"},
		{`local a, b, c, d = hello.echo(1, nil, "x", nil) return a, b, c, d`, "1 nil x nil"},
		{`local t = hello.echo({1, 2, k = {deep = "y"}}) return t[2], t.k.deep`, "2 y"},
		{`return hello.pid() > 0`, "true"},
		{`return hello.count() + 1 == hello.count()`, "true"},
		{`local ok, e = pcall(hello.fail, {code = 7}) return ok, e.code`, "false 7"},
	} {
		if got := mustEval(t, v, c.src); got != c.want {
			t.Errorf("%s = %q, want %q", c.src, got, c.want)
		}
	}
	for _, c := range []struct{ src, want string }{
		{"\nhello.fail('boom')", `<string>:2: plugin hello: boom`},
		{`hello.echo(1, function() end)`, `<string>:1: plugin hello: hello.echo: argument #2 is a function: a plugin takes and gives data only, it cannot call back into the script`},
		{`hello.echo({cb = {print}})`, `<string>:1: plugin hello: hello.echo: argument #1.cb[1] is a function`},
		{`hello.echo(1, nil, queue)`, `<string>:1: plugin hello: hello.echo: argument #3 is an mp.Queue: a plugin takes and gives data only, it cannot use mp objects`},
		{`hello.greet()`, `<string>:1: plugin hello: bad argument #1 to greet (string expected, got nil)`},
	} {
		_, err := eval(v, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.src, err, c.want)
		}
	}
}

// queueHandle stands for an mp.Queue, as a VM with a host makes one.
type queueHandle struct{}

func (queueHandle) Handle() (string, uint64) { return "Queue", 1 }

func TestModuleFields(t *testing.T) {
	info, err := newSet(t).Info("hello")
	if err != nil {
		t.Fatal(err)
	}
	want := "add count echo exit fail greet pid"
	if got := strings.Join(info.Functions, " "); got != want {
		t.Errorf("functions %q, want %q", got, want)
	}
	if info.Version != "1.0.0" || !strings.HasPrefix(info.Stubs, "---@meta\n") || !strings.Contains(info.Stubs, "function hello.count() end") {
		t.Errorf("version %q, stubs %q", info.Version, info.Stubs)
	}
}

// TestConcurrentCallers calls one plugin process from 8 VMs at once, half
// through the host's connection and half as children do, through
// connections of their own.
func TestConcurrentCallers(t *testing.T) {
	s := newSet(t)
	const callers, calls = 8, 50
	pids := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		var c Caller = s
		if i%2 == 1 {
			r := NewRemote(s)
			t.Cleanup(func() { r.Close() })
			c = r
		}
		v := luaVM(t, c)
		wg.Go(func() {
			pids[i] = mustEval(t, v, `
				local pid = hello.pid()
				for i = 1, `+strconv.Itoa(calls)+` do
					assert(hello.pid() == pid)
					hello.count()
				end
				return pid`)
		})
	}
	wg.Wait()
	for _, pid := range pids {
		if pid != pids[0] {
			t.Fatalf("pids %v: want one plugin process", pids)
		}
	}
	if got := mustEval(t, luaVM(t, s), `return hello.count()`); got != strconv.Itoa(callers*calls+1) {
		t.Errorf("count after %d calls = %s", callers*calls, got)
	}
}

// TestKilledMidCall kills the plugin with SIGKILL during a call it runs,
// from the main script's way and from a child's: the call fails naming the
// plugin and how it ended, and the next call starts it again.
func TestKilledMidCall(t *testing.T) {
	s := newSet(t)
	r := NewRemote(s)
	t.Cleanup(func() { r.Close() })
	for _, c := range []Caller{s, r} {
		info, err := c.Info("probe")
		if err != nil {
			t.Fatal(err)
		}
		v, watch := moduleVM(t, c, "probe", context.Background()), moduleVM(t, c, "probe", context.Background())
		failed := make(chan error, 1)
		go func() {
			_, err := eval(v, `probe.spin()`)
			failed <- err
		}()
		waitFor(t, "the call to run", func() bool { return mustEval(t, watch, `return probe.spinning()`) == "1" })
		if err := syscall.Kill(int(info.Pid), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("<string>:1: plugin probe (pid %d) was killed by signal 9 (killed) during the call of probe.spin", info.Pid)
		if err := <-failed; err == nil || err.Error() != want {
			t.Errorf("call: %v, want %q", err, want)
		}
		if got := mustEval(t, watch, `return probe.spinning()`); got != "0" {
			t.Errorf("spinning in the new process: %s", got)
		}
		if again, _ := c.Info("probe"); again == nil || again.Pid == info.Pid {
			t.Errorf("after the kill: %v, before pid %d: want a new process", again, info.Pid)
		}
	}
}

// TestCancelStopsCall ends the caller's context during a call that loops
// in the plugin, from the main script's way and from a child's: the call
// returns at once, and the plugin stops running it.
func TestCancelStopsCall(t *testing.T) {
	s := newSet(t)
	r := NewRemote(s)
	t.Cleanup(func() { r.Close() })
	for _, c := range []Caller{s, r} {
		ctx, cancel := context.WithCancel(context.Background())
		v, watch := moduleVM(t, c, "probe", ctx), moduleVM(t, c, "probe", context.Background())
		failed := make(chan error, 1)
		go func() {
			_, err := eval(v, `probe.spin()`)
			failed <- err
		}()
		waitFor(t, "the call to run", func() bool { return mustEval(t, watch, `return probe.spinning()`) == "1" })
		cancel()
		if err := <-failed; err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("cancelled call: %v", err)
		}
		waitFor(t, "the plugin to stop the call", func() bool { return mustEval(t, watch, `return probe.spinning()`) == "0" })
	}
}

func TestExit(t *testing.T) {
	v := luaVM(t, newSet(t))
	pid := mustEval(t, v, `return hello.pid()`)
	_, err := eval(v, `hello.exit(3)`)
	want := "<string>:1: plugin hello (pid " + pid + ") exited with status 3 during the call of hello.exit"
	if err == nil || err.Error() != want {
		t.Errorf("exit: %v, want %q", err, want)
	}
	if again := mustEval(t, v, `return hello.pid()`); again == pid {
		t.Errorf("pid after exit %s: want a new process", again)
	}
}

func TestProtocolMismatch(t *testing.T) {
	_, err := newSet(t).Info("old")
	want := "speaks plugin protocol 99, and this mphost speaks 1"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("start: %v, want %q", err, want)
	}
}

func TestCloseEndsPlugins(t *testing.T) {
	s := newSet(t)
	info, err := s.Info("hello")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(int(info.Pid), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("plugin pid %d after Close: %v, want no such process", info.Pid, err)
	}
	dir := s.ownDir
	if _, err := os.Stat(dir); dir == "" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket folder after Close: %v", err)
	}
	if _, err := s.Info("hello"); !errors.Is(err, ErrClosed) {
		t.Errorf("use after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// waitFor waits, bounded, until cond holds in this process.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
