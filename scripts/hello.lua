-- args: one two
--
-- The smallest script: it loads the mp module, names the process it runs in,
-- and prints its arguments, both from the global arg table and from `...`.
local mp = require("mp")

print("hello from " .. mp.current_process().name)
print("args: " .. #arg)
for i = 1, #arg do
  print(i, arg[i])
end
print("...", ...)
print("parent:", mp.parent_process())
