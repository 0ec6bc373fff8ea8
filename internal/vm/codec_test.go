package vm

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// pair is a sending VM and a receiving VM that share no state but the chunk
// store, as the host and a child do: the receiver compiles the sender's
// chunks on demand and runs none of their top-level code.
type pair struct {
	from, to *VM
}

func newPair(t *testing.T) pair {
	t.Helper()
	hostChunks := NewChunks(nil)
	p := pair{
		from: New(Options{Chunks: hostChunks, Stdout: io.Discard}),
		to:   New(Options{Chunks: NewChunks(hostChunks), Stdout: io.Discard}),
	}
	t.Cleanup(func() { p.from.Close(); p.to.Close() })
	return p
}

// run runs src as chunk "job.lua" in vm and returns its first result.
func run(t *testing.T, vm *VM, src string) lua.LValue {
	t.Helper()
	fn, err := vm.Load(Chunk{Name: "job.lua", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	rets, err := vm.Call(fn)
	if err != nil {
		t.Fatalf("running job.lua: %v", err)
	}
	if len(rets) == 0 {
		return lua.LNil
	}
	return rets[0]
}

// ship runs src in the sender, encodes what it returns, and decodes it in
// the receiver.
func (p pair) ship(t *testing.T, src string) lua.LValue {
	t.Helper()
	data, err := p.from.Encode("value", run(t, p.from, src))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	v, err := p.to.Decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// check runs Lua assertions in the receiver, with the shipped value as `v`.
func (p pair) check(t *testing.T, v lua.LValue, asserts string) {
	t.Helper()
	p.to.L.SetGlobal("v", v)
	fn, err := p.to.Load(Chunk{Name: "check.lua", Source: asserts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.to.Call(fn); err != nil {
		t.Fatalf("in the receiver: %v\n%s", err, err.(*Error).Traceback)
	}
}

func TestRoundTripScalars(t *testing.T) {
	p := newPair(t)
	cases := []lua.LValue{
		lua.LNil, lua.LTrue, lua.LFalse,
		lua.LNumber(0), lua.LNumber(math.Copysign(0, -1)), lua.LNumber(1.5), lua.LNumber(-7),
		lua.LNumber(math.NaN()), lua.LNumber(math.Inf(1)), lua.LNumber(math.Inf(-1)),
		lua.LNumber(1 << 53), lua.LNumber(-(1 << 60)), lua.LNumber(1e300), lua.LNumber(5e-324),
		lua.LNumber(math.Float64frombits(0x7ff8000000000abc)), // a NaN with a payload
		lua.LString(""), lua.LString("héllo"), lua.LString("\x00\xff\x01 bytes"),
		lua.LString(strings.Repeat("x", 1<<20)),
	}
	for _, want := range cases {
		data, err := p.from.Encode("value", want)
		if err != nil {
			t.Fatalf("encode %v: %v", want, err)
		}
		got, err := p.to.Decode(data)
		if err != nil {
			t.Fatalf("decode %v: %v", want, err)
		}
		if n, ok := want.(lua.LNumber); ok {
			if math.Float64bits(float64(n)) != math.Float64bits(float64(got.(lua.LNumber))) {
				t.Errorf("number %v came back as %v (bits %x)", n, got, math.Float64bits(float64(got.(lua.LNumber))))
			}
			continue
		}
		if got != want {
			t.Errorf("%q came back as %q", want, got)
		}
	}
}

func TestRoundTripTables(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		local shared = {x = 1}
		local t = {10, 20, nil, 40, name = "n", [1.5] = "f", [true] = "b", [-3] = "neg",
		           nested = {deep = {deeper = {"d"}}}, a = shared, b = shared}
		t[{}] = "table key"
		t.self = t
		setmetatable(t, {__index = function(_, k) return "missing " .. k end})
		return t`)
	p.check(t, v, `
		assert(v[1] == 10 and v[2] == 20 and rawget(v, 3) == nil and v[4] == 40)
		assert(v.name == "n" and v[1.5] == "f" and v[true] == "b" and v[-3] == "neg")
		assert(v.nested.deep.deeper[1] == "d")
		assert(v.a == v.b and v.a.x == 1, "shared reference kept")
		assert(v.self == v, "cycle kept")
		local found
		for k, x in pairs(v) do if type(k) == "table" then found = x end end
		assert(found == "table key")
		assert(v.other == "missing other", "metatable with a closure kept")`)
}

func TestClosureSnapshot(t *testing.T) {
	p := newPair(t)
	data, err := p.from.Encode("value", run(t, p.from, `
		local n = 1
		f = function() return n end
		return f`))
	if err != nil {
		t.Fatal(err)
	}
	run(t, p.from, `return 0`)
	if err := p.from.L.DoString(`debug.setupvalue(f, 1, 99)`); err != nil {
		t.Fatal(err)
	}
	v, err := p.to.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p.check(t, v, `assert(v() == 1, "the upvalue is the value at send time")`)
}

func TestClosureSharedUpvalue(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		local count = 10
		local function inc() count = count + 1 end
		local function get() return count end
		return {inc = inc, get = get}`)
	p.check(t, v, `
		v.inc(); v.inc()
		assert(v.get() == 12, "two closures still share one cell: " .. v.get())`)
}

func TestClosureRecursiveLocal(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		local function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end
		return fact`)
	p.check(t, v, `assert(v(10) == 3628800)`)
}

func TestClassInstance(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		local Point = {}
		Point.__index = Point
		function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
		function Point:norm2() return self.x * self.x + self.y * self.y end
		function Point:moved(dx) return Point.new(self.x + dx, self.y) end
		return Point.new(3, 4)`)
	p.check(t, v, `
		assert(v:norm2() == 25)
		local w = v:moved(1)
		assert(w.x == 4 and getmetatable(w) == getmetatable(v))`)
}

func TestClosureGlobals(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		helpers = {double = function(x) return 2 * x end, fmt = string.format}
		scale = 3
		local function inner() return helpers.double(scale) end
		return function() return helpers.fmt("%d|%s", inner(), type(print)) end`)
	p.check(t, v, `assert(v() == "6|function", v())`)
	if got := p.to.L.GetGlobal("scale"); got != lua.LNumber(3) {
		t.Errorf("global scale in the receiver = %v, want 3", got)
	}
}

func TestNilGlobalsStayTheReceivers(t *testing.T) {
	p := newPair(t)
	p.to.L.SetGlobal("db", lua.LString("receiver's db"))
	v := p.ship(t, `return function() return db end`)
	p.check(t, v, `assert(v() == "receiver's db")`)
}

func TestBuiltinsTravelByName(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `local mp = require("mp")
		return {print, string.format, string, mp, mp.sleep, io.stdout, _G}`)
	p.check(t, v, `
		local mp = require("mp")
		assert(v[1] == print and v[2] == string.format and v[3] == string)
		assert(v[4] == mp and v[5] == mp.sleep and v[6] == io.stdout and v[7] == _G)`)
}

func TestFunctionFromRequiredModule(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "geometry.lua"), []byte(`
		local M = {}
		local unit = 2
		function M.area(w, h) return w * h * unit end
		return M`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPair(t)
	p.from.AddPackagePath(dir)
	v := p.ship(t, `local g = require("geometry") return function(x) return g.area(x, x) end`)
	p.check(t, v, `assert(v(3) == 18)`)
}

func TestFunctionsFromLoadAndLoadstring(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `
		local a = loadstring("return 1 + ...", "=snippet")
		local pieces = {"return ", "'x'"}
		local i = 0
		local b = load(function() i = i + 1 return pieces[i] end)
		assert(b() == "x")
		local c = load("local k = 5 return function() return k end")()
		return {a, c}`)
	p.check(t, v, `assert(v[1](1) == 2 and v[2]() == 5)`)
}

func TestChunkPublishedOnce(t *testing.T) {
	host := NewChunks(nil)
	counting := &countingStore{Chunks: host}
	child := New(Options{Chunks: NewChunks(counting), Stdout: io.Discard})
	defer child.Close()
	fn := run(t, child, `local x = 1 return function() return x end`)
	for range 3 {
		if _, err := child.Encode("f", fn); err != nil {
			t.Fatal(err)
		}
	}
	if counting.published != 1 {
		t.Errorf("chunk published %d times, want once", counting.published)
	}
	if _, ok := host.Lookup(Chunk{Name: "job.lua", Source: `local x = 1 return function() return x end`}.ID()); !ok {
		t.Error("the host does not have the child's chunk")
	}
}

type countingStore struct {
	*Chunks
	published int
}

func (s *countingStore) Publish(c Chunk) error { s.published++; return s.Chunks.Publish(c) }

// fakeHandle is a host object as later parts make them.
type fakeHandle struct{ id uint64 }

func (h *fakeHandle) Handle() (string, uint64) { return "Fake", h.id }

func TestHandles(t *testing.T) {
	p := newPair(t)
	rebuild := func(L *lua.LState, id uint64) (lua.LValue, error) {
		ud := L.NewUserData()
		ud.Value = &fakeHandle{id: id}
		return ud, nil
	}
	p.from.RegisterHandleKind("Fake", rebuild)
	p.to.RegisterHandleKind("Fake", rebuild)
	ud := p.from.L.NewUserData()
	ud.Value = &fakeHandle{id: 42}
	data, err := p.from.Encode("args", p.from.L.NewTable())
	if err != nil {
		t.Fatal(err)
	}
	_ = data
	tbl := p.from.L.NewTable()
	tbl.RawSetString("q", ud)
	data, err = p.from.Encode("args", tbl)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.to.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(*lua.LTable).RawGetString("q").(*lua.LUserData).Value.(*fakeHandle)
	if got.id != 42 {
		t.Errorf("handle id %d, want 42", got.id)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"coroutine upvalue", `
local co = coroutine.create(function() end)
local function cb() return co end
return {{cb = cb}}`,
			"cannot send args[1].cb upvalue 'co' (job.lua:3): a coroutine cannot cross processes"},
		{"coroutine", `return {1, coroutine.create(print)}`,
			"cannot send args[2]: a coroutine cannot cross processes"},
		{"foreign userdata", `return {file = io.open("/dev/null")}`,
			"cannot send args.file: a userdata (Go type *lua.lFile) cannot cross processes"},
		{"Go function", `return {["the iter"] = ipairs({})}`,
			`cannot send args["the iter"]: a Go function that is not a builtin cannot cross processes`},
		{"custom environment", `
local function f() return x end
setfenv(f, {x = 1})
return {f}`,
			"cannot send args[1]: the function (job.lua:2) has its own environment (setfenv), which cannot cross processes"},
		{"in a global", `
bad = coroutine.create(print)
return {function() return bad end}`,
			"cannot send args[1] global 'bad' (job.lua:3): a coroutine cannot cross processes"},
		{"in a metatable", `return {setmetatable({}, {co = coroutine.create(print)})}`,
			"cannot send args[1] metatable.co: a coroutine cannot cross processes"},
		{"as a key", `return {[coroutine.create(print)] = 1}`,
			"cannot send args key [thread]: a coroutine cannot cross processes"},
		{"channel", `return {channel.make()}`,
			"cannot send args[1]: a channel cannot cross processes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t)
			_, err := p.from.Encode("args", run(t, p.from, c.src))
			if err == nil {
				t.Fatal("encode succeeded")
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestEncodeDepthLimit(t *testing.T) {
	vm := New(Options{Limits: Limits{MaxDepth: 50}})
	defer vm.Close()
	v := run(t, vm, `local t = {} for i = 1, 100 do t = {t} end return t`)
	_, err := vm.Encode("v", v)
	if err == nil || !strings.Contains(err.Error(), "nested deeper than 50 levels") {
		t.Errorf("err = %v, want the depth limit", err)
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	p := newPair(t)
	data, err := p.from.Encode("v", run(t, p.from, `
		local up = {1, 2}
		return {up, "s", 1.5, function() return up end, {x = {y = print}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if _, err := p.to.Decode(data[:i]); err == nil {
			t.Errorf("decoding the first %d of %d bytes succeeded", i, len(data))
		}
	}
	if _, err := p.to.Decode(append(bytes.Clone(data), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	bad := map[string][]byte{
		"huge count":      {codecVersion, tagTable, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge string":     {codecVersion, tagString, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'},
		"bad ref":         {codecVersion, tagRef, 5},
		"nil key":         {codecVersion, tagTable, 0, 1, tagNil, tagTrue, tagNil},
		"bad tag":         {codecVersion, 200},
		"bad version":     {99, tagNil},
		"unknown chunk":   append([]byte{codecVersion, tagFunc, 0, 0}, make([]byte, 18)...),
		"unknown name":    {codecVersion, tagBuiltin, 3, 'x', 'y', 'z'},
		"unknown handle":  {codecVersion, tagHandle, 1, 'Q', 1},
		"bad metatable":   {codecVersion, tagTable, 0, 0, tagTrue},
		"varint overflow": {codecVersion, tagRef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range bad {
		if _, err := p.to.Decode(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	deep := []byte{codecVersion}
	for range DefaultLimits.MaxDepth + 1 {
		deep = append(deep, tagTable, 1, 0)
	}
	if _, err := p.to.Decode(deep); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestDecodeRejectsWrongUpvalueCount(t *testing.T) {
	p := newPair(t)
	data, err := p.from.Encode("v", run(t, p.from, `local a, b = 1, 2 return function() return a + b end`))
	if err != nil {
		t.Fatal(err)
	}
	// version, tagFunc, proto 0, chunk 0, 16 id bytes, path length 1, step 0, then the upvalue count.
	i := 1 + 1 + 1 + 1 + 16 + 1 + 1
	if data[i] != 2 {
		t.Fatalf("upvalue count at %d is %d, the layout changed", i, data[i])
	}
	data[i] = 1
	if _, err := p.to.Decode(data); err == nil || !strings.Contains(err.Error(), "has 2 upvalues") {
		t.Errorf("err = %v", err)
	}
}

func TestSparseKeysWithinBudget(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `return {[1] = "a", [1000] = "b", [100000] = "c", [2^40] = "d"}`)
	p.check(t, v, `assert(v[1] == "a" and v[1000] == "b" and v[100000] == "c" and v[2^40] == "d")`)
}

func TestLargeHashPart(t *testing.T) {
	p := newPair(t)
	v := p.ship(t, `local t = {} for i = 1, 300 do t["k" .. i] = {i} end
		local outer = {t, {x = 1}} return outer`)
	p.check(t, v, `
		local n = 0 for k, x in pairs(v[1]) do n = n + 1 assert(x[1] == tonumber(k:sub(2))) end
		assert(n == 300 and v[2].x == 1)`)
}
