package main

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crossingScript sends pipe ends and Locks to children through a queue, a
// pipe and process arguments (a child's to its own), in rounds that the
// children take (the receiving child collects its garbage each round: the
// host may have 20 000 files at most); every process drops them. After
// "done", each "gc" line collects, makes as many Locks as the crossing
// objects took indexes, and prints the highest index among them: when every
// object that crossed was freed, their indexes are all free again, and none
// of the new Locks needs a higher one.
const crossingScript = `local mp = require("mp")
local n, round = tonumber(arg[1]), 500
local function index(obj) return tonumber(tostring(obj):match("(%d+)>$")) % 2^32 end
local used, made, top = {}, 0, 0 -- the indexes the crossing objects took
local function seen(...)
  for _, obj in ipairs({...}) do
    local i = index(obj)
    if not used[i] then used[i], made = true, made + 1 end
    top = math.max(top, i)
  end
end
local function drain(conn, q, k)
  for i = 1, k do
    local item, msg = q:get(), conn:recv()
    assert(tostring(item[2]) == tostring(msg[2]))
    if i % round == 0 then collectgarbage() ; conn:send(i) end
  end
end
local function keep(list) assert(#list == round) end
local function relay(q, acks, k)
  for c = 1, k do
    local p = mp.Process{target = keep, args = {q:get()}}
    p:start() ; p:join() ; assert(p.exitcode == 0)
    acks:put(c)
  end
end
print("ready") ; io.read()
local q = mp.Queue()
local parent, child = mp.Pipe()
local p = mp.Process{target = drain, args = {child, q, n / 2}}
p:start()
for i = 1, n / 2 do
  local a, b = mp.Pipe()
  local l = mp.Lock()
  seen(a, b, l)
  q:put({a, l}) ; parent:send({b, l})
  if i % round == 0 then assert(parent:recv() == i) end
end
p:join() ; assert(p.exitcode == 0)
-- A Process keeps its arguments in the process that made it: the child
-- that relays the lists to its own children ends.
local acks = mp.Queue()
p = mp.Process{target = relay, args = {q, acks, n / 2 / round}}
p:start()
for c = 1, n / 2 / round do
  local list = {}
  for i = 1, round do local a, b = mp.Pipe() ; local l = mp.Lock() ; seen(a, b, l) ; list[i] = {a, b, l} end
  q:put(list) ; assert(acks:get() == c)
end
p:join() ; assert(p.exitcode == 0)
parent:close() ; child:close()
q, parent, child, p = nil, nil, nil, nil
print("done", made, top)
while io.read() == "gc" do
  collectgarbage()
  local locks, most = {}, 0
  for i = 1, made do locks[i] = mp.Lock() ; most = math.max(most, index(locks[i])) end
  print("highest", most)
end
`

// TestCrossedObjectsAreFreed: 6 000 pipes and their Locks sent to children
// in queue items, pipe messages and process arguments, then dropped by
// every process, are all freed: the host's open files come back within a
// few of where they were, and their ids are all handed out again.
func TestCrossedObjectsAreFreed(t *testing.T) {
	t.Parallel()
	n := 6000 // pipes: up to two files each in the host, which may have 20 000
	if raceEnabled() {
		n = 2000
	}
	s := startReadyRun(t, "crossing.lua", crossingScript, strconv.Itoa(n))
	pid := s.cmd.Process.Pid
	fds0 := fdCount(t, pid)
	kids0, _ := childrenOf(pid)
	s.answer(t)
	fields := strings.Fields(s.nextLine(t, 10*time.Minute, "done"))
	top, _ := strconv.Atoi(fields[2])
	highest, fds1 := -1, 0
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if _, err := io.WriteString(s.stdin, "gc\n"); err != nil {
			t.Fatal(err)
		}
		highest, _ = strconv.Atoi(strings.Fields(s.nextLine(t, 2*time.Minute, "highest"))[1])
		kids1, _ := childrenOf(pid)
		allowed := filesAllowed(fds0, kids0, kids1)
		if fds1 = fdCount(t, pid); (highest <= top && fds1 <= allowed) || time.Now().After(deadline) {
			if fds1 > allowed {
				t.Errorf("%d files open after, %d before: %s", fds1, fds0, fdList(pid))
			}
			break
		}
	}
	t.Logf("%s objects made up to index %d; new Locks up to index %d; open files %d, then %d", fields[1], top, highest, fds0, fds1)
	if highest > top {
		t.Errorf("new Locks took indexes up to %d, past the %d of the objects that crossed: some were never freed", highest, top)
	}
	if code := s.wait(t, time.Minute); code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, s.stderr())
	}
}
