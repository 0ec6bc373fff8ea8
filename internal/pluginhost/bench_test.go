package pluginhost

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// BenchmarkPluginCall calls hello.add(2, 3): on the host's gRPC stream, on
// a call socket of its own as a child process does, and from Lua through
// the child's way (codec included).
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
	b.Run("stream", func(b *testing.B) {
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
	b.Run("lua", func(b *testing.B) {
		r := NewRemote(s)
		defer r.Close()
		lv := luaVM(b, r)
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
	})
}
