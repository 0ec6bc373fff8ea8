-- timeout: 120
--
-- A map and an imap of 100 000 items: every result in its place. The sum
-- of i*i for i = 1..N is N(N+1)(2N+1)/6 = 333338333350000.
local mp = require("mp")
local N = 100000
local pool = mp.Pool(4)
local items = {}
for i = 1, N do items[i] = i end
local squares = pool:map(function(x) return x * x end, items)
local sum, wrong = 0, 0
for i = 1, N do
  if squares[i] ~= i * i then wrong = wrong + 1 end
  sum = sum + (squares[i] or 0)
end
print("map", #squares, wrong, string.format("%.0f", sum))
local n, isum, iwrong = 0, 0, 0
for v in pool:imap(function(x) return x * x end, items, 1000) do
  n = n + 1
  if v ~= n * n then iwrong = iwrong + 1 end
  isum = isum + v
end
print("imap", n, iwrong, string.format("%.0f", isum))
pool:close()
pool:join()
