package luaapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// apiPage is the API reference, from this package's folder.
const apiPage = "../../docs/api.md"

func readPage(t *testing.T) string {
	t.Helper()
	page, err := os.ReadFile(apiPage)
	if err != nil {
		t.Fatal(err)
	}
	return string(page)
}

// TestReferenceUpToDate: docs/api.md's generated regions are what the
// declaration writes.
func TestReferenceUpToDate(t *testing.T) {
	page := readPage(t)
	want, err := MP.Reference(page)
	if err != nil {
		t.Fatal(err)
	}
	if page == want {
		return
	}
	got, wantLines := strings.Split(page, "\n"), strings.Split(want, "\n")
	for i := range min(len(got), len(wantLines)) {
		if got[i] != wantLines[i] {
			t.Fatalf("docs/api.md differs from what the declaration generates, at line %d:\n have %q\n want %q\n"+
				"run: go generate ./internal/luaapi/", i+1, got[i], wantLines[i])
		}
	}
	t.Fatalf("docs/api.md differs from what the declaration generates in its length (%d lines, want %d)\n"+
		"run: go generate ./internal/luaapi/", len(got), len(wantLines))
}

// TestReferenceIsStable: generating twice gives the same page, generating
// a generated page changes nothing, and the Cluster section stays last and
// hand-written.
func TestReferenceIsStable(t *testing.T) {
	page := readPage(t)
	once, err := MP.Reference(page)
	if err != nil {
		t.Fatal(err)
	}
	again, err := MP.Reference(page)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := MP.Reference(once)
	if err != nil {
		t.Fatal(err)
	}
	if once != again || once != twice {
		t.Error("the reference is not the same from one generation to the next")
	}
	cut := strings.Index(once, "\n## Cluster\n")
	if cut < 0 || strings.Contains(once[cut:], regionStart) || strings.Contains(once[cut+1:], "\n## ") {
		t.Error("the Cluster section must stay last and hand-written")
	}
}

// TestReferenceRegions: a region is rewritten whole, the text around it is
// kept byte for byte, and a malformed or unknown region is an error that
// names its line.
func TestReferenceRegions(t *testing.T) {
	page := "# T\n\nprose `x`\n<!-- generated: functions cpu_count -->\nstale\nlines\n<!-- end -->\nafter\n"
	got, err := MP.Reference(page)
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\nprose `x`\n<!-- generated: functions cpu_count -->\n" +
		"- `mp.cpu_count()` → `integer`: Returns the number of CPUs Go sees.\n<!-- end -->\nafter\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{
		"a\n<!-- generated: functions cpu_count -->\nno end\n",
		"<!-- generated: functions nosuch -->\n<!-- end -->\n",
		"<!-- generated: class Nosuch -->\n<!-- end -->\n",
		"<!-- generated: options Nosuch -->\n<!-- end -->\n",
		"<!-- generated: table Queue -->\n<!-- end -->\n",
		"<!-- generated: class Queue -->\n<!-- generated: class Lock -->\n<!-- end -->\n",
		"<!-- generated: class Queue\n<!-- end -->\n",
	} {
		if _, err := MP.Reference(bad); err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: error %v, want one naming the line", bad, err)
		}
	}
}

// TestReferenceEntries checks entries of the generated text that say what
// a reader most needs: optional parameters and defaults, returns, how a
// call waits, and what it raises.
func TestReferenceEntries(t *testing.T) {
	for _, c := range []struct{ what, want string }{
		{"class Queue", "- `q:put(item [, block=true [, timeout]])` → `boolean, \"full\"|nil`: Puts item (not nil);"},
		{"class Queue", "Waits at most `timeout` seconds; interruptible."},
		{"class Queue", "- `q:put_nowait(item)` → `boolean, \"full\"|nil`: Puts item without waiting; false, \"full\" when the\n  queue is full. `item` (any).\n"},
		{"class JoinableQueue", "- `q:join()`: Waits until every item put has been marked done. Waits as long as it\n  takes; interruptible.\n"},
		{"class Pool", "Each step of the iterator waits as long as it takes; interruptible."},
		{"class Lock", "Raises\n  `Lock.release: cannot release what this process does not hold`."},
		{"class Barrier", "| `barrier.n_waiting` | integer, read-only | the number of processes waiting now |"},
		{"class Process", "| `p.pid` | integer or nil, read-only | the OS process id; nil before start |"},
		{"options PoolOptions", "| `memory_limit` | string or integer | **(mphost)** each worker's memory bound, as a Process's |"},
		{"functions Barrier", "- `mp.Barrier(parties [, timeout])` → `mp.Barrier`:"},
		{"functions Pipe", "`duplex`\n  (boolean or mp.PipeOptions): two-way, or an options table."},
	} {
		text, err := MP.region(c.what)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(oneLine(text), oneLine(c.want)) {
			t.Errorf("%s lacks\n%s\nin\n%s", c.what, c.want, text)
		}
	}
}

// oneLine is text with each run of spaces and newlines made one space.
func oneLine(text string) string { return strings.Join(strings.Fields(text), " ") }

// regionRE finds the regions of a page.
var regionRE = regexp.MustCompile(`(?m)^<!-- generated: (\w+) (.+) -->$`)

// TestReferenceNamesEverything: every function, class and options table
// that mp declares has its region in docs/api.md, once.
func TestReferenceNamesEverything(t *testing.T) {
	seen := map[string]int{}
	for _, m := range regionRE.FindAllStringSubmatch(readPage(t), -1) {
		for _, name := range strings.Fields(m[2]) {
			seen[m[1]+" "+name]++
		}
	}
	var want []string
	for _, f := range MP.Funcs {
		want = append(want, "functions "+f.Name)
	}
	for _, c := range MP.Classes {
		want = append(want, "class "+c.Name)
	}
	for _, r := range MP.Records {
		want = append(want, "options "+r.Name)
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("docs/api.md has %d regions of %s, want 1", seen[w], w)
		}
		delete(seen, w)
	}
	for extra := range seen {
		t.Errorf("docs/api.md has a region %s that mp does not declare", extra)
	}
}

// contractNames are the names of mp's builtins, classes, methods, fields
// and options that the Lua contract (shared/API.md, kept outside the
// repository) names; TestContractNamesListed keeps the list whole when the
// contract is at hand.
var contractNames = strings.Fields(`
	cpu_count sleep current_process parent_process active_children
	Process Lock RLock Semaphore BoundedSemaphore Event Condition Barrier Queue JoinableQueue Pipe Value Pool
	start join is_alive terminate kill close extend init run pid name daemon exitcode
	target args kwargs memory_limit
	acquire release with locked get_value
	set clear is_set wait wait_for notify notify_all reset abort parties n_waiting broken
	put get put_nowait get_nowait qsize empty full task_done
	send recv poll send_bytes recv_bytes duplex capacity
	add
	processes initializer initargs maxtasksperchild task_timeout
	map starmap imap imap_unordered apply apply_async map_async ready successful
`)

// declaredNames are every name MP declares: functions, classes, methods,
// fields, options.
func declaredNames() map[string]bool {
	names := map[string]bool{}
	for _, f := range MP.Funcs {
		names[f.Name] = true
	}
	for _, c := range MP.Classes {
		names[c.Name] = true
		for _, f := range c.Methods {
			names[f.Name] = true
		}
		for _, f := range c.Fields {
			names[f.Name] = true
		}
	}
	for _, r := range MP.Records {
		for _, f := range r.Fields {
			names[f.Name] = true
		}
	}
	return names
}

// TestContractNamesDeclared: every name of the Lua contract is declared,
// so that the stubs and the reference have it.
func TestContractNamesDeclared(t *testing.T) {
	declared := declaredNames()
	for _, name := range contractNames {
		if !declared[name] {
			t.Errorf("the contract names %s; mp does not declare it", name)
		}
	}
}

// notMP are names that the contract writes as calls or fields and that
// are not mp's: Lua's, and the examples' own.
var notMP = strings.Fields(`unpack print pcall it self f lua loop
	MyProcess Class write stdout exit require`)

// contractNameRE finds, in a code span of the contract, a name written as a
// call (name( or name{) or as a field (p.name).
var contractNameRE = regexp.MustCompile(`([A-Za-z_]\w*)\s*[({]|\b[a-z]+\.([a-z_]\w*)`)

// TestContractNamesListed reads the contract when it is at hand
// (shared/API.md in a folder above this one) and checks that contractNames
// holds every name its code spans write as a call or a field, but those of
// notMP.
func TestContractNamesListed(t *testing.T) {
	path := ""
	for dir, _ := filepath.Abs("."); path == ""; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "shared", "API.md")); err == nil {
			path = filepath.Join(dir, "shared", "API.md")
		} else if dir == filepath.Dir(dir) {
			t.Skip("the contract, shared/API.md, is in no folder above this one")
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, name := range append(contractNames, notMP...) {
		listed[name] = true
	}
	code := regexp.MustCompile("(?s)```.*?```|`[^`]+`")
	for _, span := range code.FindAllString(string(text), -1) {
		for _, m := range contractNameRE.FindAllStringSubmatch(span, -1) {
			if name := m[1] + m[2]; !listed[name] {
				t.Errorf("the contract names %s (in %.60q): add it to contractNames, or to notMP", name, span)
				listed[name] = true
			}
		}
	}
}
