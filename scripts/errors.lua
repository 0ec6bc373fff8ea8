-- exit: 1
-- stderr: scripts/errors.lua:31: uncaught: the end
-- stderr: stack traceback:
--
-- Errors carry the file:line where they were raised: error() adds the line it
-- was called from, unless its level is 0; runtime errors name the line of the
-- faulty operation. An error value that is not a string travels unchanged.
-- The last error is not caught, so the script ends with status 1, the message
-- and a traceback on stderr.
local function half(n)
  if type(n) ~= "number" then
    error("half: number expected, got " .. type(n))
  end
  return n / 2
end

print(pcall(half, 8))
print(pcall(half, "x"))
print(pcall(error, "no position", 0))
print(pcall(function() local t = nil; return t.field end))
print(pcall(function() return 1 + {} end))
local ok, err = pcall(error, { code = 42 })
print(ok, type(err), err.code)

-- An error raised again with level 0 keeps its first position.
print(pcall(function()
  local _, first = pcall(function() error("once") end)
  error(first, 0)
end))

error("uncaught: the end")
