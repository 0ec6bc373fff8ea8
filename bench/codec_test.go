package bench

import (
	"io"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// roundTrip benchmarks encoding the value src returns in one VM and decoding
// it in another that fetches chunks from the first, as a child does.
func roundTrip(b *testing.B, src string) {
	from := vm.New(vm.Options{Stdout: io.Discard})
	to := vm.New(vm.Options{Chunks: vm.NewChunks(from.Chunks()), Stdout: io.Discard})
	defer from.Close()
	defer to.Close()
	fn, err := from.Load(vm.Chunk{Name: "bench.lua", Source: src})
	if err != nil {
		b.Fatal(err)
	}
	rets, err := from.Call(fn)
	if err != nil {
		b.Fatal(err)
	}
	v := rets[0]
	var size int
	b.ReportAllocs()
	for b.Loop() {
		data, err := from.Encode("v", v)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
		var got lua.LValue
		if got, err = to.Decode(data); err != nil || got == lua.LNil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/msg")
}

// BenchmarkCodecNumbers: an array of 100 000 numbers, half of them integral.
func BenchmarkCodecNumbers(b *testing.B) {
	roundTrip(b, `local t = {} for i = 1, 100000 do t[i] = i * 0.5 end return t`)
}

// BenchmarkCodecRecords: 10 000 small records {id=, name=, tags={...}}.
func BenchmarkCodecRecords(b *testing.B) {
	roundTrip(b, `local t = {}
		for i = 1, 10000 do t[i] = {id = i, name = "user" .. i, tags = {"a", "b", "c"}} end
		return t`)
}

// BenchmarkCodecClosure: one closure with 5 upvalues that reads 3 globals.
func BenchmarkCodecClosure(b *testing.B) {
	roundTrip(b, `
		scale, offset, names = 2, 1, {"x", "y"}
		local a, b, c, d, e = 1, "two", {3}, 4.5, true
		return function(x) return (x + a + #b + c[1] + d) * scale + offset, names[1], e end`)
}
