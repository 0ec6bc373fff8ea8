package vm

import (
	"io"
	"testing"
)

// seedValues are Lua expressions whose encodings seed the decoder's fuzzing:
// one of each kind the codec writes.
var seedValues = []string{
	`return nil`, `return true`, `return -0.0`, `return 0/0`, `return 1e300`, `return -12345`,
	`return "bytes\0\255"`,
	`return {1, 2, nil, 4, x = {y = "z"}, [true] = 1.5}`,
	`local t = {} t.self = t return setmetatable(t, {__index = t})`,
	`local n = 0 local function inc() n = n + 1 return n end return {inc, inc, function() return n end}`,
	`helpers = {sq = function(x) return x * x end} return function(x) return helpers.sq(x) + #tostring(x) end`,
	`local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end return fib`,
	`return {print, string.format, require("mp"), io.stdout}`,
	`local t = {} for i = 1, 20 do t[i] = i * 1000 end return t`,
	`return {0.5, 1, 2, 3, 4, 5, 6, 7, -0.0, "x", 1, 2, 3, 4, 5, 6, 7, 8, k = {9, 8, 7, 6, 5, 4, 3, 2, 1}}`,
}

// FuzzDecode feeds the decoder arbitrary bytes: it must never panic, and
// whatever it accepts must encode and decode again.
func FuzzDecode(f *testing.F) {
	p := pair{from: New(Options{Stdout: io.Discard})}
	p.to = New(Options{Chunks: NewChunks(p.from.Chunks()), Stdout: io.Discard})
	defer p.from.Close()
	defer p.to.Close()
	for _, src := range seedValues {
		fn, err := p.from.Load(Chunk{Name: "seed.lua", Source: src})
		if err != nil {
			f.Fatal(err)
		}
		rets, err := p.from.Call(fn)
		if err != nil {
			f.Fatal(err)
		}
		data, err := p.from.Encode("seed", rets[0])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A pool's chunks and results are read as lists: hostile bytes there
		// give an error too, never a panic; a list is a table to Decode.
		if items, err := p.to.decodeList(data); err == nil {
			again, err := p.to.appendList(nil, "v", items)
			if err != nil {
				t.Fatalf("decoded list does not encode again: %v", err)
			}
			if _, err := p.to.Decode(again); err != nil {
				t.Fatalf("re-encoded list does not decode as a table: %v", err)
			}
		}
		v, err := p.to.Decode(data)
		if err != nil {
			return
		}
		again, err := p.to.Encode("v", v)
		if err != nil {
			t.Fatalf("decoded value does not encode again: %v", err)
		}
		if _, err := p.to.Decode(again); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
	})
}
