-- A module for process_closure_targets.lua: its functions are targets.
local M = {unit = "cm2"}
function M.describe(w, h) print("module", w * h, M.unit) end
function M.fancy(n) local stars = require("modules.stars") print("fancy", stars(n)) end
return M
