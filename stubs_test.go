package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// mphost stubs DIR writes mp.lua and the example plugin's hello.lua, both
// loadable as Lua, and lists them; a wrong call is a usage error.
func TestStubsCommand(t *testing.T) {
	t.Setenv("MPHOST_PLUGIN_PATH", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "luals")
	r := mphost(t, "", "stubs", "--plugin-dir", examplePlugins(t), dir)
	r.expect(t, 0, filepath.Join(dir, "mp.lua")+"\n"+filepath.Join(dir, "hello.lua")+"\n", "")
	for file, want := range map[string]string{"mp.lua": "---@class mp.Queue", "hello.lua": "function hello.count() end"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "---@meta") || !strings.Contains(string(data), want) {
			t.Errorf("%s does not start with ---@meta or lacks %q:\n%.300s", file, want, data)
		}
		L := lua.NewState()
		if err := L.DoString(string(data)); err != nil {
			t.Errorf("%s is not Lua: %v", file, err)
		}
		L.Close()
	}
	r = mphost(t, "", "stubs")
	r.expect(t, 2, "", "mphost stubs: takes one folder (usage: mphost stubs [--plugin-dir DIR]... DIR)\n")
}
