package vm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// bundleCase is a pool worker's VM (the receiver of a pair) and a function shipped to it.
type bundleCase struct {
	p    pair
	fn   []byte // the function's bytes, as the host ships them
	fns  workerFunctions
	sent bool // the function went with a task: the worker keeps it
}

// newBundleCase ships the function src returns to a worker VM.
func newBundleCase(t *testing.T, src string) *bundleCase {
	t.Helper()
	p := newPair(t)
	fn, err := p.from.Encode("function", run(t, p.from, src))
	if err != nil {
		t.Fatal(err)
	}
	return &bundleCase{p: p, fn: fn, fns: workerFunctions{vm: p.to, data: map[uint64][]byte{}, copies: map[uint64]functionCopy{}}}
}

// task is the bytes of a map task of batch over items.
func (c *bundleCase) task(t *testing.T, batch uint64, items ...lua.LValue) []byte {
	t.Helper()
	data, err := c.p.from.appendList(binary.AppendUvarint([]byte{taskMap}, batch), "items", items)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// run runs a bundle of tasks in the worker VM and returns their outcomes.
func (c *bundleCase) run(t *testing.T, budget time.Duration, tasks ...[]byte) []BundleOutcome {
	t.Helper()
	return c.runBounded(t, budget, bundleResultBytes, tasks...)
}

// runBounded is run with a bound of the results.
func (c *bundleCase) runBounded(t *testing.T, budget time.Duration, resultBytes int, tasks ...[]byte) []BundleOutcome {
	t.Helper()
	task := ObjectReply{Func: 1, Value: Value{Data: AppendBundle(nil, budget, resultBytes, tasks)}}
	if !c.sent {
		task.FuncCode, c.sent = c.fn, true
	}
	data, errText := c.p.to.runBundle(c.p.to.L, &c.fns, task, "here")
	if errText != "" {
		t.Fatalf("the bundle did not run: %s", errText)
	}
	outs, err := SplitBundleResult(data)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// results decodes an outcome's results.
func (c *bundleCase) results(t *testing.T, o BundleOutcome) []lua.LValue {
	t.Helper()
	values, err := c.p.to.decodeList(o.Data)
	if err != nil {
		t.Fatal(err)
	}
	return values
}

// A bundle's tasks run as a pool worker runs them one by one: each gives its results, an item
// that raises fails its task alone (its error names where the worker is, its traceback the
// line), and the tasks of one call share the function's copy, while another call gets its own.
func TestBundleRunsItsTasks(t *testing.T) {
	c := newBundleCase(t, `
		local calls = 0
		return function(x)
			calls = calls + 1
			if x == 0 then error("no zero") end
			return calls
		end`)
	outs := c.run(t, time.Minute, c.task(t, 7, lua.LNumber(1), lua.LNumber(2)),
		c.task(t, 7, lua.LNumber(0), lua.LNumber(3)), c.task(t, 8, lua.LNumber(4)))
	if len(outs) != 3 {
		t.Fatalf("%d outcomes, want 3", len(outs))
	}
	if outs[0].Err != "" || outs[2].Err != "" {
		t.Errorf("errors where none was raised: %q, %q", outs[0].Err, outs[2].Err)
	}
	if !strings.Contains(outs[1].Err, "job.lua:5: no zero") || !strings.HasSuffix(outs[1].Err, "(on here)") || outs[1].Data == nil {
		t.Errorf("the failed task: error %q, data %v", outs[1].Err, outs[1].Data)
	}
	var got []string
	for _, o := range outs {
		for _, v := range c.results(t, o) {
			got = append(got, v.String())
		}
	}
	// Task 2's items: nil for the one that raised, then its results, the error's index,
	// text and value.
	if want := "1 2 nil 4 1"; strings.Join(got[:5], " ") != want || got[len(got)-1] != "1" {
		t.Errorf("results %v, want %s ... 1: batch 7's calls counted on, batch 8's afresh", got, want)
	}
}

// A bundle starts no task once its budget has passed since its first began, nor once its
// results have grown to bundleResultBytes: its result lacks those.
func TestBundleStopsStarting(t *testing.T) {
	c := newBundleCase(t, `
		return function(x)
			if x == "slow" then
				local t0 = os.clock()
				while os.clock() - t0 < 0.02 do end
				return x
			end
			return string.rep("x", x)
		end`)
	slow := c.task(t, 1, lua.LString("slow"))
	if outs := c.run(t, time.Millisecond, slow, slow, slow); len(outs) != 1 {
		t.Errorf("%d tasks ran past a budget of 1ms, want the first alone", len(outs))
	}
	if outs := c.run(t, time.Millisecond, c.task(t, 1, lua.LNumber(1))); len(outs) != 1 || outs[0].Err != "" {
		t.Errorf("a bundle's first task did not run: %+v", outs)
	}
	big := c.task(t, 2, lua.LNumber(bundleResultBytes/2+1))
	if outs := c.run(t, time.Minute, big, big, big, big); len(outs) != 2 {
		t.Errorf("%d tasks of half a bound's results ran, want 2", len(outs))
	}
	if outs := c.runBounded(t, time.Minute, 2000, big, big); len(outs) != 1 {
		t.Errorf("%d tasks ran past a bound of 2000 bytes, want the first alone", len(outs))
	}
	small := c.task(t, 3, lua.LNumber(600))
	if outs := c.runBounded(t, time.Minute, 1000, small, small, small); len(outs) != 2 {
		t.Errorf("%d tasks of 600 bytes ran within a bound of 1000, want 2", len(outs))
	}
	if outs := c.runBounded(t, time.Minute, 1<<40, big, big, big); len(outs) != 2 {
		t.Errorf("%d tasks of half bundleResultBytes ran with a larger bound asked, want 2", len(outs))
	}
}

// Bundle bytes that do not read are refused, never run nor panicked on: a bundle's when cut
// anywhere in a task, a result's when cut anywhere in an outcome.
func TestBundleMalformed(t *testing.T) {
	c := newBundleCase(t, `return function(x) return x end`)
	task := c.task(t, 1, lua.LNumber(1))
	bundle := AppendBundle(nil, time.Second, 5000, [][]byte{task, task})
	if budget, bound, tasks, ok := splitBundle(bundle); !ok || budget != time.Second || bound != 5000 || len(tasks) != 2 || !bytes.Equal(tasks[1], task) {
		t.Fatalf("splitBundle: %v %v %q %v", budget, bound, tasks, ok)
	}
	head := len(AppendBundle(nil, time.Second, 5000, nil)) // mode, budget, bound
	for cut := 1; cut < len(bundle); cut++ {
		_, _, _, ok := splitBundle(bundle[:cut])
		if whole := cut == head || cut == head+1+len(task); ok != whole {
			t.Errorf("bundle cut at %d: ok %v", cut, ok)
		}
	}
	if _, errText := c.p.to.runBundle(c.p.to.L, &c.fns, ObjectReply{Func: 1, FuncCode: c.fn, Value: Value{Data: []byte{taskBundle, 1, 0x80}}}, ""); errText == "" {
		t.Error("a malformed bundle ran")
	}
	result := appendBundleOutcome(appendBundleOutcome(nil, "", []byte("ab")), "bad", nil)
	outs, err := SplitBundleResult(result)
	if err != nil || len(outs) != 2 || string(outs[0].Data) != "ab" || outs[0].Err != "" || outs[1].Err != "bad" || outs[1].Data != nil {
		t.Fatalf("SplitBundleResult: %+v, %v", outs, err)
	}
	for cut := 1; cut < len(result); cut++ {
		_, err := SplitBundleResult(result[:cut])
		if whole := cut == 4; (err == nil) != whole {
			t.Errorf("result cut at %d: error %v", cut, err)
		}
	}
}
