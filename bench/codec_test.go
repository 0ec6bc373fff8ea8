package bench

import (
	"io"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// roundTrip benchmarks encoding the value src returns in one VM and decoding
// it in another that fetches chunks from the first, as a child does, with
// the garbage collector set as in every mphost process (vm.TuneGC). It
// returns the seconds one round trip took, on average.
func roundTrip(b *testing.B, src string) float64 {
	tuneGC.Do(func() { vm.TuneGC(vm.DefaultGCFloor) })
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
	return b.Elapsed().Seconds() / float64(b.N)
}

// tuneGC sets this process's collector once, for the codec benchmarks.
var tuneGC sync.Once

// BenchmarkCodecNumbers: an array of 100 000 numbers, half of them integral.
func BenchmarkCodecNumbers(b *testing.B) {
	roundTrip(b, `local t = {} for i = 1, 100000 do t[i] = i * 0.5 end return t`)
}

// BenchmarkCodecRecords: 10 000 small records {id=, name=, tags={...}},
// side by side with Python's pickle (protocol 5) of the same records
// (workloads/codec_records.py), in the same run: ratio is python/mphost
// seconds per round trip (above 1: mphost is faster).
func BenchmarkCodecRecords(b *testing.B) {
	mphost := roundTrip(b, `local t = {}
		for i = 1, 10000 do t[i] = {id = i, name = "user" .. i, tags = {"a", "b", "c"}} end
		return t`)
	python, err := exec.LookPath("python3")
	if err != nil {
		b.Log("python3 not found, so the Python side is skipped")
		return
	}
	p := runWorkload(b, []string{python, "codec_records.py"}, 50, nil)
	b.ReportMetric(mphost*1e3, "mphost-ms")
	b.ReportMetric(p*1e3, "python-ms")
	b.ReportMetric(p/mphost, "ratio")
	b.Logf("records round trip: mphost %.2f ms, python pickle %.2f ms, ratio %.2f", mphost*1e3, p*1e3, p/mphost)
}

// BenchmarkCodecRecordsFloor is the floor under BenchmarkCodecRecords'
// decoding: building the same 10 000 tables from Go through gopher-lua's
// API, decoding nothing (the decoder builds them in blocks, below this).
func BenchmarkCodecRecordsFloor(b *testing.B) {
	tuneGC.Do(func() { vm.TuneGC(vm.DefaultGCFloor) })
	L := lua.NewState()
	defer L.Close()
	names := make([]lua.LString, 10000)
	for i := range names {
		names[i] = lua.LString("user" + strconv.Itoa(i+1))
	}
	b.ReportAllocs()
	for b.Loop() {
		t := L.CreateTable(len(names), 0)
		for i, name := range names {
			r := L.CreateTable(0, 3)
			r.RawSetString("id", lua.LNumber(i+1))
			r.RawSetString("name", name)
			tags := L.CreateTable(3, 0)
			tags.RawSetInt(1, lua.LString("a"))
			tags.RawSetInt(2, lua.LString("b"))
			tags.RawSetInt(3, lua.LString("c"))
			r.RawSetString("tags", tags)
			t.RawSetInt(i+1, r)
		}
	}
}

// BenchmarkCodecClosure: one closure with 5 upvalues that reads 3 globals.
func BenchmarkCodecClosure(b *testing.B) {
	roundTrip(b, `
		scale, offset, names = 2, 1, {"x", "y"}
		local a, b, c, d, e = 1, "two", {3}, 4.5, true
		return function(x) return (x + a + #b + c[1] + d) * scale + offset, names[1], e end`)
}
