package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pluginCallScript times, in one child process of one run, n calls of
// hello.add (the example plugin) and n calls of q:qsize() (a host object),
// alternating rounds so that both see the same load, and prints the mean
// seconds per call of each: "PLUGIN s" and "QSIZE s".
const pluginCallScript = `
local mp = require("mp")
local hello = require("hello")
local n, rounds = tonumber(arg[1]), 5
local q = mp.Queue()
local out = mp.Queue()
local p = mp.Process{target = function(q, out)
	local best = {plugin = math.huge, qsize = math.huge}
	local ops = {
		plugin = function() for i = 1, n do hello.add(i, 1) end end,
		qsize = function() for i = 1, n do q:qsize() end end,
	}
	ops.plugin() ops.qsize() -- warm up: the plugin's connection, the call socket
	for r = 1, rounds do
		for name, op in pairs(ops) do
			local t0 = os.clock()
			op()
			best[name] = math.min(best[name], (os.clock() - t0) / n)
		end
	end
	out:put(best)
end, args = {q, out}}
p:start()
local best = out:get(true, 300)
p:join()
print("PLUGIN " .. best.plugin)
print("QSIZE " .. best.qsize)
`

// BenchmarkPluginCall compares a call to a plugin function from a child
// process (over the plugin's call socket) with a call to a host object from
// the same child (q:qsize(), over the child's call socket), in one run: the
// best round of 5 of each, interleaved. The goal is a plugin call at most
// twice the qsize call.
func BenchmarkPluginCall(b *testing.B) {
	bin := mphostBinary(b)
	plugins := filepath.Join(filepath.Dir(bin), "plugins")
	exe := filepath.Join(plugins, "mphost-plugin-hello")
	if _, err := os.Stat(exe); err != nil {
		if out, err := exec.Command("go", "build", "-o", exe, "github.com/mphost/mphost/plugins/examples/hello").CombinedOutput(); err != nil {
			b.Fatalf("building the example plugin: %v\n%s", err, out)
		}
	}
	script := filepath.Join(b.TempDir(), "plugin_call.lua")
	if err := os.WriteFile(script, []byte(pluginCallScript), 0o644); err != nil {
		b.Fatal(err)
	}
	var plugin, qsize []float64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		out, err := exec.CommandContext(ctx, bin, "run", "--plugin-dir", plugins, script, "2000").CombinedOutput()
		cancel()
		if err != nil {
			b.Fatalf("mphost run: %v\n%s", err, out)
		}
		for line := range strings.Lines(string(out)) {
			name, value, _ := strings.Cut(strings.TrimSpace(line), " ")
			secs, err := strconv.ParseFloat(value, 64)
			if err != nil {
				b.Fatalf("output %q", out)
			}
			switch name {
			case "PLUGIN":
				plugin = append(plugin, secs)
			case "QSIZE":
				qsize = append(qsize, secs)
			}
		}
	}
	if len(plugin) == 0 || len(plugin) != len(qsize) {
		b.Fatal("no figures")
	}
	p, q := median(plugin), median(qsize)
	b.ReportMetric(0, "ns/op") // an iteration is a whole run: not a figure
	b.ReportMetric(p*1e6, "plugin-µs/call")
	b.ReportMetric(q*1e6, "qsize-µs/call")
	b.ReportMetric(p/q, "ratio")
	b.Logf("plugin call %.1f µs, qsize %.1f µs, ratio %.2f", p*1e6, q*1e6, p/q)
}
