package pluginhost

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// BenchmarkPluginCall calls hello.add(2, 3): through the host's Set, on a
// call socket of its own as a child process does, and from Lua (codec
// included) as the main script does and as a child does.
func BenchmarkPluginCall(b *testing.B) {
	s := newSet(b)
	info, err := s.Info("hello")
	if err != nil {
		b.Fatal(err)
	}
	v := vm.New(vm.Options{})
	defer v.Close()
	args, err := pb.EncodeValues(v, "argument", []lua.LValue{lua.LNumber(2), lua.LNumber(3)})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("set", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Call(b.Context(), "hello", "add", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("socket", func(b *testing.B) {
		c, err := DialSocket(info.CallsAddr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for b.Loop() {
			if _, err := c.Call(b.Context(), "add", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, way := range []struct {
		name   string
		caller func() Caller
	}{
		{"lua-main", func() Caller { return s }},
		{"lua-child", func() Caller { r := NewRemote(s); b.Cleanup(func() { r.Close() }); return r }},
	} {
		b.Run(way.name, func(b *testing.B) { benchLua(b, way.caller()) })
	}
}

// benchLua calls hello.add(2, 3) from Lua through c.
func benchLua(b *testing.B, c Caller) {
	lv := luaVM(b, c)
	fn, err := lv.L.LoadString(`return hello.add(2, 3)`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		lv.L.Push(fn)
		if err := lv.L.PCall(0, 1, nil); err != nil {
			b.Fatal(err)
		}
		lv.L.Pop(1)
	}
}
