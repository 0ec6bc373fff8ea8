package main

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// initBudget is the most that one of mphost's packages may allocate while
// it initializes: every process, each child too, runs every package's init
// and keeps what it allocated, since an idle child never collects.
const initBudget = 16 << 10

// generatedPackages are the packages that protoc generates: their init
// registers their descriptors, which is not ours to shape.
var generatedPackages = map[string]bool{
	"github.com/mphost/mphost/internal/proto":       true,
	"github.com/mphost/mphost/internal/pluginproto": true,
}

func TestInitAllocatesLittle(t *testing.T) {
	cmd := exec.Command(binary, "version")
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.TrimPrefix(os.Getenv("GODEBUG")+",inittrace=1", ","))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mphost version: %v\n%s", err, out)
	}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		// init PACKAGE @T ms, T ms clock, N bytes, N allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || !strings.HasPrefix(f[1], "github.com/mphost/mphost") || generatedPackages[f[1]] {
			continue
		}
		seen++
		bytes, err := strconv.Atoi(f[7])
		if err != nil || f[8] != "bytes," {
			t.Fatalf("unexpected inittrace line %q", sc.Text())
		}
		if bytes > initBudget {
			t.Errorf("package %s allocates %d bytes at init, over the budget of %d", f[1], bytes, initBudget)
		}
	}
	if seen == 0 {
		t.Fatalf("no inittrace line for mphost's packages in:\n%s", out)
	}
}
