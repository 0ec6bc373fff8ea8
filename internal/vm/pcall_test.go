package vm

import (
	"io"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// TestStackOverflowRaisedAtOnce overflows the call stack, caught by pcall
// and uncaught, and checks that each is raised without a long search (the
// bound is generous: the machine is shared) and that the VM goes on.
func TestStackOverflowRaisedAtOnce(t *testing.T) {
	vm := New(Options{Stdout: io.Discard})
	defer vm.Close()
	start := time.Now()
	got := run(t, vm, `local function f(n) return 1 + f(n + 1) end
		local depth = 0
		local function g(n) depth = n; return 1 + g(n + 1) end
		local ok1 = pcall(f, 0)
		local ok2 = pcall(g, 0)
		return tostring(ok1) .. " " .. tostring(ok2) .. " " .. tostring(depth >= 10000)`)
	caught := time.Since(start)
	if lua.LVAsString(got) != "false false true" {
		t.Errorf("got %q, want \"false false true\"", lua.LVAsString(got))
	}
	start = time.Now()
	err := vm.Run(Chunk{Name: "deep.lua", Source: "local function f(n) return 1 + f(n + 1) end f(0)"})
	uncaught := time.Since(start)
	if err == nil {
		t.Error("the uncaught overflow returned no error")
	}
	t.Logf("two caught overflows: %v; one uncaught: %v", caught, uncaught)
	if caught > 5*time.Second || uncaught > 5*time.Second {
		t.Errorf("overflows took %v (caught) and %v (uncaught)", caught, uncaught)
	}
	if got := run(t, vm, "return 6 * 7"); lua.LVAsString(got) != "42" {
		t.Errorf("after the overflows: got %q, want 42", lua.LVAsString(got))
	}
}

// BenchmarkPCall times pcall of a function that returns and of one that
// raises, with mphost's pcall and with gopher-lua's own.
func BenchmarkPCall(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"returns", "pcall(f, i)"},
		{"raises", "pcall(error, i)"},
	} {
		for _, impl := range []string{"mphost", "gopher-lua"} {
			b.Run(bc.name+"/"+impl, func(b *testing.B) {
				vm := New(Options{Stdout: io.Discard})
				defer vm.Close()
				if impl == "gopher-lua" {
					vm.L.SetGlobal("pcall", lua.NewState().GetGlobal("pcall"))
				}
				fn, err := vm.Load(Chunk{Name: "bench.lua", Source: "local n = ... local function f(x) return x end for i = 1, n do " + bc.body + " end"})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				if _, err := vm.Call(fn, lua.LNumber(b.N)); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
