-- An imap or imap_unordered iterator goes on after an item whose task
-- failed: that item raises at its step, the next steps give the next
-- results, and after the last item the iterator returns nil. An item's
-- error does not take the other items of its chunk with it; a worker that
-- dies fails every item of its chunk, each at its step.
local mp = require("mp")

local pool = mp.Pool(2)

local function check(x)
  if x == 3 then error("bad item " .. x, 0) end
  return x * 10
end

-- steps calls the iterator n times under pcall and prints what each gave,
-- with the numbers of a worker's name and pid taken out.
local function steps(label, it, n)
  for k = 1, n do
    local ok, v = pcall(it)
    if type(v) == "string" then
      v = v:match("^[^\n]*"):gsub("PoolWorker%-%d+ %(pid %d+%)", "PoolWorker-N (pid P)")
    end
    print(label, k, ok, v)
  end
end

steps("imap", pool:imap(check, {1, 2, 3, 4, 5, 6}), 8)
steps("imap, chunks of 2", pool:imap(check, {1, 2, 3, 4, 5, 6}, 2), 8)
steps("imap, chunks of 4", pool:imap(check, {1, 2, 3, 4, 5, 6}, 4), 8)

-- imap_unordered: the items come in any order; print them sorted.
local function unordered(chunk)
  local it = pool:imap_unordered(check, {1, 2, 3, 4, 5, 6}, chunk)
  local got = {}
  for _ = 1, 8 do
    local ok, v = pcall(it)
    got[#got + 1] = tostring(ok) .. " " .. tostring(v):match("^[^\n]*")
  end
  table.sort(got)
  print("imap_unordered, chunks of " .. chunk .. ":", table.concat(got, ", "))
end
unordered(1)
unordered(4)

-- A worker that dies on item 3: its chunk's items fail, the others arrive.
local function die(x)
  if x == 3 then os.exit(5) end
  return x * 10
end
steps("a worker dies", pool:imap(die, {1, 2, 3, 4, 5, 6}, 1), 7)
steps("a worker dies, chunks of 2", pool:imap(die, {1, 2, 3, 4, 5, 6}, 2), 7)

-- A for loop stops at nil, as ever.
for v in pool:imap(check, {1, 2}) do print("for:", v) end
pool:close()
pool:join()
