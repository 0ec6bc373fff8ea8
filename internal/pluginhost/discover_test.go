package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyPlugin copies the test plugin hello into dir as mphost-plugin-NAME.
func copyPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(pluginDir, Prefix+"hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, Prefix+name)
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDiscoveryOrder(t *testing.T) {
	root := t.TempDir()
	flag, env1, env2, config := filepath.Join(root, "flag"), filepath.Join(root, "env1"), filepath.Join(root, "env2"), filepath.Join(root, "config")
	t.Setenv("MPHOST_PLUGIN_PATH", env1+":"+env2)
	t.Setenv("XDG_CONFIG_HOME", config)
	path := SearchPath([]string{flag})
	home := filepath.Join(config, "mphost", "plugins")

	want := `no plugin "hello": looked for mphost-plugin-hello in ` + flag + ` (--plugin-dir), ` + env1 + ` ($MPHOST_PLUGIN_PATH), ` +
		env2 + ` ($MPHOST_PLUGIN_PATH), ` + home + ` (the user's config)`
	if _, err := Find(path, "hello"); err == nil || err.Error() != want {
		t.Errorf("not found: %v\nwant %s", err, want)
	}
	for _, dir := range []string{home, env2, env1, flag} { // each found before the one before it
		p := copyPlugin(t, dir, "hello")
		if got, err := Find(path, "hello"); got != p {
			t.Errorf("found %q (%v), want %q", got, err, p)
		}
	}
	os.WriteFile(filepath.Join(env1, Prefix+"data"), nil, 0o644) // not executable
	os.WriteFile(filepath.Join(env1, Prefix+"hello"+PinSuffix), nil, 0o755)
	copyPlugin(t, env2, "other")
	names, paths := Names(path)
	if got := strings.Join(names, " "); got != "hello other" || paths[0] != filepath.Join(flag, Prefix+"hello") {
		t.Errorf("names %q at %q", got, paths)
	}
}

func TestConfigHomeDefault(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/someone")
	path := SearchPath(nil)
	if len(path) != 1 || path[0].Dir != "/home/someone/.config/mphost/plugins" {
		t.Errorf("search path %v", path)
	}
}

func TestPin(t *testing.T) {
	dir := t.TempDir()
	p := copyPlugin(t, dir, "hello")
	data, _ := os.ReadFile(p)
	sum := sha256.Sum256(data)
	actual := hex.EncodeToString(sum[:])

	os.WriteFile(p+PinSuffix, []byte(actual+"  "+p+"\n"), 0o644) // sha256sum's output
	if _, err := newSet(t, dir).Info("hello"); err != nil {
		t.Errorf("a matching pin: %v", err)
	}

	pinned := strings.Repeat("ab", sha256.Size)
	os.WriteFile(p+PinSuffix, []byte(pinned+"\n"), 0o644)
	_, err := newSet(t, dir).Info("hello")
	want := "plugin hello refused: " + p + " does not match its pin " + p + ".sha256: pinned sha256 " + pinned + ", the file's is " + actual
	if err == nil || err.Error() != want {
		t.Errorf("a wrong pin: %v\nwant %s", err, want)
	}

	os.WriteFile(p+PinSuffix, []byte("not-a-hash\n"), 0o644)
	if _, err := newSet(t, dir).Info("hello"); err == nil || !strings.Contains(err.Error(), "the first word is not a hex SHA-256") {
		t.Errorf("a bad pin: %v", err)
	}
}
