package pluginhost

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	pb "github.com/mphost/mphost/internal/pluginproto"
	"github.com/mphost/mphost/internal/vm"
)

// BenchmarkPluginCall calls hello.add(2, 3) over a second connection to
// the plugin's address, as a child process does: on the call stream, as a
// unary gRPC call, and from Lua (codec included).
func BenchmarkPluginCall(b *testing.B) {
	s := newSet(b)
	network, addr, err := s.Addr("hello")
	if err != nil {
		b.Fatal(err)
	}
	r, err := DialRemote(b.Context(), network, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	v := vm.New(vm.Options{})
	defer v.Close()
	args, err := pb.EncodeValues(v, "argument", []lua.LValue{lua.LNumber(2), lua.LNumber(3)})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("stream", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.conn.Call(b.Context(), "add", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unary", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.conn.client.Call(b.Context(), &pb.CallRequest{Function: "add", Args: args}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lua", func(b *testing.B) {
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
