-- A module that process_closure_targets.lua's module requires in a child.
return function(n) return string.rep("*", n) end
