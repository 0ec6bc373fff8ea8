package host

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goBuild builds a program of testdata with the go command, into dir.
func goBuild(t *testing.T, dir string, args ...string) {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the test programs")
	}
	cmd := exec.Command(gocmd, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// took reads the "after N.Ns: ERROR" line the test programs print.
var took = regexp.MustCompile(`after ([0-9.]+)s: (.*)`)

// checkNotServed runs a program that embeds the host without calling
// ServeChild: its first process start fails, soon, with an error that
// says to call ServeChild, and its own code ran in one process only.
func checkNotServed(t *testing.T, bin, ranLine string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = nil
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // a bound against a hang, not a measure
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s still runs after 60 s\nstdout:\n%s\nstderr:\n%s", bin, &stdout, &stderr)
	}
	m := took.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no result line\nstdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	if !strings.Contains(m[2], "call host.ServeChild() at the top of main") {
		t.Errorf("error %q does not say to call host.ServeChild", m[2])
	}
	secs, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("the error came after %.1fs: %s", secs, m[2])
	if n := strings.Count(stderr.String(), ranLine); n != 1 {
		t.Errorf("%q printed %d times, want once (the child ran on as the program)\nstderr:\n%s", ranLine, n, &stderr)
	}
}

func TestMainWithoutServeChild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "noserve")
	goBuild(t, "testdata/noserve", "build", "-o", bin, ".")
	checkNotServed(t, bin, "noserve: the host is made")
}

func TestTestBinaryWithoutTestMain(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "notestmain.test")
	goBuild(t, "testdata/notestmain", "test", "-c", "-o", bin, ".")
	checkNotServed(t, bin, "notestmain: the suite runs", "-test.v")
}
