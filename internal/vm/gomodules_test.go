package vm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// twice is a Go module that a finder gives (as plugins will).
func twiceModule(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"of": func(L *lua.LState) int { L.Push(L.CheckNumber(1) * 2); return 1 },
	}))
	return 1
}

func findTwice(_ *VM, name string) (lua.LGFunction, error) {
	if name == "my.twice" || name == "twice" {
		return twiceModule, nil
	}
	return nil, fmt.Errorf("no module %q in twice's finder", name)
}

// A module that Options.Modules finds is required like any, and a closure
// that captures it, or a global holding it, crosses to a VM that has not
// loaded it: the receiver loads it on decoding.
func TestFinderModuleCrosses(t *testing.T) {
	hostChunks := NewChunks(nil)
	from := New(Options{Chunks: hostChunks, Stdout: io.Discard, Modules: findTwice})
	to := New(Options{Chunks: NewChunks(hostChunks), Stdout: io.Discard, Modules: findTwice})
	defer from.Close()
	defer to.Close()
	p := pair{from, to}
	fn := p.ship(t, `
		local of = require("my.twice").of
		twice = require("twice")
		return function(x) return of(x) + twice.of(1) end`)
	rets, err := to.Call(fn, lua.LNumber(20))
	if err != nil || len(rets) != 1 || rets[0] != lua.LNumber(42) {
		t.Fatalf("the shipped closure returned %v, %v; want 42", rets, err)
	}
}

// A VM without the finder names the module it cannot load.
func TestUnknownGoModule(t *testing.T) {
	hostChunks := NewChunks(nil)
	from := New(Options{Chunks: hostChunks, Stdout: io.Discard, Modules: findTwice})
	to := New(Options{Chunks: NewChunks(hostChunks), Stdout: io.Discard})
	defer from.Close()
	defer to.Close()
	data, err := from.Encode("value", run(t, from, `return require("my.twice").of`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := to.Decode(data); err == nil || !strings.Contains(err.Error(), `unknown builtin "my.twice.of"`) {
		t.Fatalf("decode error %v, want unknown builtin", err)
	}
	_, err = to.Call(to.L.GetGlobal("require"), lua.LString("my.twice"))
	if err == nil || !strings.Contains(err.Error(), "no Go module 'my.twice'") {
		t.Fatalf("require error %v", err)
	}
}

// require's error for a module no searcher finds lists where the finder
// looked, after package.path's files.
func TestFinderSaysWhereItLooked(t *testing.T) {
	v := New(Options{Stdout: io.Discard, Modules: findTwice})
	defer v.Close()
	_, err := v.Call(v.L.GetGlobal("require"), lua.LString("nosuch"))
	if err == nil || !strings.Contains(err.Error(), "no file './nosuch.lua'") ||
		!strings.Contains(err.Error(), `no module "nosuch" in twice's finder`) {
		t.Fatalf("require error %v", err)
	}
}

// A builtin of a Go module decodes as that module's, even where a Lua file
// of the module's name comes first on package.path.
func TestFinderModuleNotShadowedOnDecode(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "twice.lua"), []byte(`error("the Lua file was loaded")`), 0o644); err != nil {
		t.Fatal(err)
	}
	hostChunks := NewChunks(nil)
	from := New(Options{Chunks: hostChunks, Stdout: io.Discard, Modules: findTwice})
	to := New(Options{Chunks: NewChunks(hostChunks), Stdout: io.Discard, Modules: findTwice})
	defer from.Close()
	defer to.Close()
	to.AddPackagePath(dir)
	fn := pair{from, to}.ship(t, `local of = require("twice").of return function(x) return of(x) end`)
	rets, err := to.Call(fn, lua.LNumber(21))
	if err != nil || len(rets) != 1 || rets[0] != lua.LNumber(42) {
		t.Fatalf("the shipped closure returned %v, %v; want 42", rets, err)
	}
}
