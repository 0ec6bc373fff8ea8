package vm

import (
	"context"
	"io"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// TestForInLoopsMended runs generic for loops of every shape around the one
// gopher-lua v1.1.2 miscompiles (a body that starts with break, after other
// loops), each after earlier loops, and checks what each computes: the mend
// (fixForInLoops) must fix that one and change nothing in the others.
func TestForInLoopsMended(t *testing.T) {
	const before = `local t = {10, 20, 30}
local s = 0
for _, v in ipairs(t) do s = s + v end
for i = 1, 3 do s = s + i end
`
	for _, c := range []struct {
		name, body string
		want       string
	}{
		{"break at once", `local n = 0
			for _ in pairs(t) do break end
			return s .. " " .. n`, "66 0"},
		{"break in a do block", `for _ in pairs(t) do do break end end
			return s`, "66"},
		{"break after work", `local n = 0
			for _, v in ipairs(t) do n = n + v if v == 20 then break end end
			return n`, "30"},
		{"goto continue", `local n = 0
			for _, v in ipairs(t) do if v == 20 then goto continue end n = n + v ::continue:: end
			return n`, "40"},
		{"empty body", `local n = 0
			for _ in pairs(t) do end
			return s`, "66"},
		{"nested, inner breaks at once", `local n = 0
			for _, v in ipairs(t) do for _ in pairs(t) do break end n = n + v end
			return n`, "60"},
		{"nested, outer breaks at once", `local n = 0
			for _ in ipairs(t) do break end
			for _, v in ipairs(t) do for _, w in ipairs(t) do n = n + w end end
			return n`, "180"},
		{"closure of the loop variable, then break", `local fs = {}
			for _, v in ipairs(t) do fs[#fs + 1] = function() return v end break end
			return #fs .. " " .. fs[1]()`, "1 10"},
		{"break at once in a nested function", `local function first(x)
				local got
				for k in pairs(x) do got = k break end
				for _ in pairs(x) do break end
				return got
			end
			return first({7})`, "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Bounded: the miscompiled loop may jump back for ever.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			vm := New(Options{Stdout: io.Discard, Context: ctx})
			defer vm.Close()
			if got := lua.LVAsString(run(t, vm, before+c.body)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
