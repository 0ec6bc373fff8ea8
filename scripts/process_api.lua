-- The Process API, checked from the main script and from a child, whose
-- own children are then the host's grandchildren; each line is tagged with
-- where it was printed. A "raises" is a pcall that failed with an error
-- starting with this file's name and the line of the call. Each failing
-- child prints its name and pid, the error with this file's line, and a
-- traceback, and nothing else is on stderr (process_api.err).
local mp = require("mp")

local FILE = debug.getinfo(1, "S").source

-- suite checks the Process API from the process it runs in. where tags its
-- lines; first is the name its first unnamed process must get; parent_pid is
-- the pid mp.parent_process() must give (nil in the main script).
local function suite(where, first, parent_pid)
  local function say(...) print(where, ...) end
  -- raises reports how a pcall made on the caller's line ended: "raises"
  -- when the error starts with this file's name and that line.
  local function raises(ok, err)
    local prefix = FILE .. ":" .. debug.getinfo(2, "l").currentline .. ": "
    if ok then return "did not raise" end
    if type(err) ~= "string" or err:sub(1, #prefix) ~= prefix then
      return "raised without " .. prefix .. ": " .. tostring(err)
    end
    return "raises"
  end
  local function slurp(path)
    local f = io.open(path)
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    os.remove(path)
    return s
  end

  local me = mp.current_process()
  say("current", me.name, me.pid > 0)
  local pp = mp.parent_process()
  if parent_pid then say("parent", pp.name, pp.pid == parent_pid) else say("parent", pp) end

  -- target, args, kwargs: the child exits 0 only when it got them all.
  local function check_args(a, b, kw)
    os.exit((a == 1 and b == "two" and kw.k == 3 and kw.nested[1] == "x") and 0 or 9)
  end
  local p = mp.Process{target = check_args, args = {1, "two"}, kwargs = {k = 3, nested = {"x"}}, daemon = false}
  say("default name", p.name == first, p.name)
  say("before start", p.pid, p.exitcode, p.daemon, p:is_alive())
  p:start()
  say("pid", type(p.pid) == "number" and p.pid > 0 and p.pid ~= me.pid)
  say("join", p:join())
  say("after join", p.exitcode, p:is_alive())
  say("start twice", raises(pcall(p.start, p)))
  say("close", pcall(p.close, p))
  say("join after close", raises(pcall(p.join, p)))

  -- name, daemon, join with a timeout, active_children, terminate
  local sleeper = mp.Process{target = function() mp.sleep(60) end, name = where .. "-sleeper", daemon = true}
  say("sleeper", sleeper.name, sleeper.daemon)
  sleeper:start()
  say("join(0.1)", sleeper:join(0.1), sleeper:is_alive(), sleeper.exitcode)
  local active = mp.active_children()
  say("active_children", #active, active[1] == sleeper)
  say("close while running", raises(pcall(sleeper.close, sleeper)))
  sleeper:terminate()
  say("join after terminate", sleeper:join(10), sleeper.exitcode, sleeper:is_alive())
  say("close after end", pcall(sleeper.close, sleeper))
  say("active_children after", #mp.active_children())

  local spinner = mp.Process{target = function() while true do end end}
  spinner:start()
  spinner:kill()
  say("join after kill", spinner:join(10), spinner.exitcode)

  -- an uncaught error, raised on the line that defines fail
  local function fail() error("boom in " .. where) end
  local failing = mp.Process{target = fail, name = where .. "-failing"}
  failing:start()
  failing:join()
  say("uncaught error", failing.exitcode)

  local exiting = mp.Process{target = function() os.exit(3) end}
  exiting:start()
  say("os.exit(3)", exiting:join(), exiting.exitcode)

  -- a subclass; its run writes what it sees to a file
  local Sub = mp.Process:extend()
  function Sub:init(file, n)
    mp.Process.init(self, {name = where .. "-sub"})
    self.file, self.n = file, n
  end
  function Sub:run()
    local cur, par = mp.current_process(), mp.parent_process()
    local f = assert(io.open(self.file, "w"))
    f:write(table.concat({tostring(self.pid == cur.pid), self.pid, self.name, cur.name, par.name, par.pid, self.n}, " "))
    f:close()
  end
  local sub = Sub(where .. "-sub.txt", 42)
  say("subclass before start", sub.name, sub.n, sub.pid)
  sub:start()
  say("subclass join", sub:join(), sub.exitcode)
  local saw = slurp(where .. "-sub.txt")
  say("subclass saw", saw == table.concat({"true", sub.pid, where .. "-sub", where .. "-sub", me.name, me.pid, 42}, " "))

  local second = mp.Process{target = function() end}
  say("default name later", second.name)
end

local nested = mp.Process{target = suite, args = {"child", "Process-1:1", mp.current_process().pid}}
suite("main", "Process-2", nil)
nested:start()
print("nested", nested:join(), nested.exitcode, nested.name)
