package pluginhost

import (
	"strconv"
	"syscall"
	"testing"
)

// TestRemoteKilledUnread stops the plugin, makes a call as a child does,
// and kills the plugin with SIGKILL once the call is sent: the plugin never
// read it, so it goes to the plugin's next process. (A call the plugin read
// fails when it dies: scripts/plugin_ended.lua.)
func TestRemoteKilledUnread(t *testing.T) {
	s := newSet(t)
	r := NewRemote(s)
	t.Cleanup(func() { r.Close() })
	v := luaVM(t, r)
	pid, _ := strconv.Atoi(mustEval(t, v, `return hello.pid()`))
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plugin to stop", func() bool { return procState(pid) == "T" })
	r.mu.Lock()
	conn := r.plugins["hello"].idle[0] // dialled by the first call
	r.mu.Unlock()
	failed := make(chan error, 1)
	again := make(chan string, 1)
	go func() {
		pid, err := eval(v, `return hello.pid()`)
		again <- pid
		failed <- err
	}()
	waitFor(t, "the call to be sent", func() bool { return conn.waiting.Load() })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if got, err := <-again, <-failed; err != nil || got == strconv.Itoa(pid) {
		t.Errorf("the call during the kill: %q, %v; want a new pid", got, err)
	}
}

// TestRemoteKilledIdle kills the plugin between two calls of a child: the
// next call starts it again and succeeds.
func TestRemoteKilledIdle(t *testing.T) {
	s := newSet(t)
	r := NewRemote(s)
	t.Cleanup(func() { r.Close() })
	v := luaVM(t, r)
	pid, _ := strconv.Atoi(mustEval(t, v, `return hello.pid()`))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plugin to die", func() bool { return !alive(pid) })
	again, err := eval(v, `return hello.pid()`)
	if err != nil || again == strconv.Itoa(pid) {
		t.Errorf("call after the kill: %q, %v; want a new pid", again, err)
	}
}
