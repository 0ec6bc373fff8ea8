package host

import "testing"

// TestPoolKeepsOnlyWhatIsUsed checks that the host lets go of what a pool
// no longer needs: the results of apply_async calls that the script dropped
// without looking at them (once Go has collected them), and the functions
// of finished calls, here 200 distinct closures.
func TestPoolKeepsOnlyWhatIsUsed(t *testing.T) {
	var out, errOut syncBuffer
	h := New(Options{Stdout: &out, Stderr: &errOut})
	defer h.Close()
	err := runScript(t, h, `
		local mp = require("mp")
		local pool = mp.Pool(2)
		local kept = pool:apply_async(function() return "kept" end, {})
		for i = 1, 500 do pool:apply_async(function() return string.rep("x", 10000) end, {}) end
		for i = 1, 200 do pool:apply_async(function() return i end, {}) end
		pool:close()
		pool:join()
		for _ = 1, 20 do -- collect, and let the next calls forget what was collected
			collectgarbage()
			mp.sleep(0.01)
		end
		print(kept:get())`)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut.String())
	}
	if out.String() != "kept\n" {
		t.Fatalf("stdout %q, want the result that was kept", out.String())
	}
	h.mu.Lock()
	pools := h.pools
	h.mu.Unlock()
	if len(pools) != 1 {
		t.Fatalf("the host has %d pools, want the script's 1", len(pools))
	}
	batches, tasks, funcs := pools[0].Kept()
	t.Logf("kept %d batches, %d tasks, %d functions of 701 calls", batches, tasks, funcs)
	if batches > 20 || tasks > 20 || funcs > 20 {
		t.Errorf("the pool keeps %d batches, %d tasks and %d functions of 701 calls, whose results were dropped or read", batches, tasks, funcs)
	}
}
