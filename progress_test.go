package main

import "testing"

// TestProgressNotDrawnWithoutTerminal: --progress and mp.Pool{progress =
// true} draw nothing when stderr is not a terminal, so logs and pipes stay
// clean. (The bar itself, on a terminal, was checked by hand under tmux.)
func TestProgressNotDrawnWithoutTerminal(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"p.lua": `local mp = require("mp")
local pool = mp.Pool{processes = 2, progress = true}
local items = {}
for i = 1, 50 do items[i] = i end
print(#pool:map(function(x) return x end, items, 1))
local n = 0
for _ in pool:imap(function(x) return x end, items) do n = n + 1 end
print(n)
`})
	mphost(t, dir, "run", "--progress", "p.lua").expect(t, 0, "50\n50\n", "")
}
