package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the first ```lang block under the README heading
// head.
func readmeBlock(t *testing.T, head, lang string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n"+head+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", head)
	}
	_, block, ok := strings.Cut(section, "```"+lang+"\n")
	if !ok {
		t.Fatalf("README.md has no ```%s block under %q", lang, head)
	}
	block, _, _ = strings.Cut(block, "```\n")
	return block
}

// The README's embedding example is a complete program: it builds against
// this module, runs a pool whose workers call its registered module, and
// prints what its last comment says.
func TestReadmeEmbeddingBuildsAndRuns(t *testing.T) {
	t.Parallel()
	src := readmeBlock(t, "## Embedding", "go")
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a bound against a hang
	defer cancel()
	bin := filepath.Join(dir, "embed")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, file).CombinedOutput(); err != nil {
		t.Fatalf("go build of README's example: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's example: %v\n%s", err, out)
	}
	_, want, _ := strings.Cut(src, "fmt.Println(res) // ")
	want, _, _ = strings.Cut(want, "\n")
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("README's example printed %q, its comment says %q", got, want)
	}
}

// The README's two plugin lines work as written: the first builds the
// example plugin into a folder, the second runs mphost with that folder and
// prints what its comment says.
func TestReadmePluginLines(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSpace(readmeBlock(t, "## Plugins", "")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "go build ") || !strings.HasPrefix(lines[1], "mphost run ") {
		t.Fatalf("README's plugin block is not the two lines this test knows:\n%s", strings.Join(lines, "\n"))
	}
	command, want, _ := strings.Cut(lines[1], "# ")
	want = strings.TrimSpace(want)
	// ~/plugins is a folder of the test's; mphost is the binary under test.
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a bound against a hang
	defer cancel()
	script := strings.ReplaceAll(lines[0]+"\n"+command, "~/", home+"/")
	script = strings.Replace(script, "\nmphost run ", "\n"+binary+" run ", 1)
	cmd := exec.CommandContext(ctx, "bash", "-euc", script)
	cmd.Env = append(os.Environ(), "MPHOST_PLUGIN_PATH=", "XDG_CONFIG_HOME="+home)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README's plugin lines: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("README's plugin lines printed %q, the comment says %q", got, want)
	}
}
