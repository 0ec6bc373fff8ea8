package host

import "github.com/mphost/mphost/internal/luaapi"

// WriteStubs writes lua-language-server definition files (---@meta) into
// dir, as mphost stubs does: mp.lua for the mp module, declared from the
// same table its bindings are checked against, and NAME.lua for each plugin
// a run with Options.PluginDirs dirs finds and can use, from its Stubs. It
// returns the plugins it wrote stubs for; one that does not fit is left out
// (Plugins says why).
func WriteStubs(dir string, dirs []string) ([]PluginInfo, error) {
	var written []PluginInfo
	var stubs []luaapi.PluginStubs
	for _, p := range Plugins(dirs) {
		if p.Problem == "" && p.Stubs != "" {
			written = append(written, p)
			stubs = append(stubs, luaapi.PluginStubs{Name: p.Name, Stubs: p.Stubs})
		}
	}
	return written, luaapi.WriteStubs(dir, stubs)
}
