-- x:with(f, ...) holds the object around f, returns f's results, releases
-- it when f raises and passes the error on as it was raised; closures keep
-- sharing their upvalues after a caught error inside it, as after pcall.
local mp = require("mp")

local lock, value = mp.Lock(), mp.Value(0)
local n = 0
local function bump() n = n + 1 end

print("results:", lock:with(function(a, b) bump() return a + b, "x" end, 2, 3))
print("raised:", pcall(lock.with, lock, function() bump() error("inside") end))
print("table error:", select(2, pcall(lock.with, lock, function() error({code = 7}) end)).code)
print("released:", lock:acquire(false))
lock:release()
bump()
print("shared after the error:", n)
print("value:", value:with(function() value:set(value:get() + 1) return value:get() end))
print("raised in value:", pcall(value.with, value, function() bump() error("again", 0) end))
bump()
print("still shared:", n)
