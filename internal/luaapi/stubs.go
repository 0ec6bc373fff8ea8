package luaapi

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// PluginStubs is what a plugin gives for its module's definition file: the
// module's name and the text of the file (plugins.Module's Name and Stubs).
type PluginStubs struct {
	Name  string
	Stubs string
}

// moduleNameRE is a module name that can name a file: names separated by
// dots, as require's path turns them into folders. It is compiled on first
// use, as plainTypeRE: every mphost process, each child too, links this
// package, and only the stubs command uses them.
var moduleNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`) })

// WriteStubs writes lua-language-server definition files into dir, made if
// need be: mp.lua from [MP], and for each plugin its Stubs as they are, in
// a file named after its module (a.b in a/b.lua, as require finds it). A
// plugin with no Stubs gets no file. Pointing the language server's
// workspace.library at dir makes require("mp") and require of each plugin
// typed in an editor.
func WriteStubs(dir string, plugins []PluginStubs) error {
	files := map[string]string{"mp": Stubs(&MP)}
	for _, p := range plugins {
		switch {
		case !moduleNameRE().MatchString(p.Name):
			return fmt.Errorf("stubs: plugin module name %q cannot name a file", p.Name)
		case files[p.Name] != "":
			return fmt.Errorf("stubs: two modules named %q", p.Name)
		case p.Stubs == "":
			continue
		}
		files[p.Name] = p.Stubs
	}
	for name, text := range files {
		path := filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(name, ".", "/"))+".lua")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("stubs: %w", err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("stubs: %w", err)
		}
	}
	return nil
}

// Stubs is the lua-language-server definition file of m: a ---@meta file
// that declares m's classes, options tables and functions, and returns the
// module table, so that a file named after m types what require gives.
func Stubs(m *Module) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("---@meta")
	w("-- The %s module, for lua-language-server: written by `mphost stubs`; do not edit.", m.Name)
	w("")
	w("---%s", m.Doc)
	w("---@class %s", m.Name)
	w("local %s = {}", m.Name)
	for _, r := range m.Records {
		w("")
		w("---%s", r.Doc)
		w("---@class %s", m.TypeName(r.Name))
		writeFields(&b, r.Fields)
	}
	for _, c := range m.Classes {
		w("")
		w("---%s", c.Doc)
		if c.Extends != "" {
			w("---@class %s: %s", m.TypeName(c.Name), m.TypeName(c.Extends))
		} else {
			w("---@class %s", m.TypeName(c.Name))
		}
		writeFields(&b, c.Fields)
		if c.Constructor != nil {
			w("---@overload %s", funType(c.Constructor))
		}
		w("local %s = {}", c.Name)
		if c.Constructor != nil {
			w("%s.%s = %s", m.Name, c.Name, c.Name)
		}
		for _, f := range c.Methods {
			w("")
			writeFunc(&b, c.Name+":", f)
		}
	}
	for _, f := range m.Funcs {
		w("")
		writeFunc(&b, m.Name+".", f)
	}
	w("")
	w("return %s", m.Name)
	return b.String()
}

// writeFields writes ---@field lines.
func writeFields(b *strings.Builder, fields []Field) {
	for _, f := range fields {
		doc := f.Doc
		if f.ReadOnly {
			doc += " (read-only)"
		}
		fmt.Fprintf(b, "---@field %s %s %s\n", optionalName(f.Name, f.Optional), f.Type, doc)
	}
}

// writeFunc writes f's doc, parameters and returns, then its empty
// definition under prefix ("mp." or "Queue:").
func writeFunc(b *strings.Builder, prefix string, f Func) {
	fmt.Fprintf(b, "---%s\n", f.Doc)
	names := make([]string, len(f.Params))
	for i, p := range f.Params {
		names[i] = p.Name
		doc := p.Doc
		if p.Default != "" {
			doc = strings.TrimSpace(doc + " (default " + p.Default + ")")
		}
		fmt.Fprintf(b, "%s\n", strings.TrimSpace(fmt.Sprintf("---@param %s %s %s", optionalName(p.Name, p.Optional), p.Type, doc)))
	}
	for _, r := range f.Returns {
		fmt.Fprintf(b, "%s\n", strings.TrimSpace(fmt.Sprintf("---@return %s %s %s", optionalType(r.Type, r.Optional), r.Name, r.Doc)))
	}
	fmt.Fprintf(b, "function %s%s(%s) end\n", prefix, f.Name, strings.Join(names, ", "))
}

// funType is f as a lua-language-server function type:
// fun(opts?: mp.ProcessOptions): mp.Process.
func funType(f *Func) string {
	params := make([]string, len(f.Params))
	for i, p := range f.Params {
		params[i] = optionalName(p.Name, p.Optional) + ": " + p.Type
	}
	returns := make([]string, len(f.Returns))
	for i, r := range f.Returns {
		returns[i] = optionalType(r.Type, r.Optional)
	}
	s := "fun(" + strings.Join(params, ", ") + ")"
	if len(returns) > 0 {
		s += ": " + strings.Join(returns, ", ")
	}
	return s
}

// optionalName marks an optional parameter or field: name?. The rest of
// the arguments is optional by nature.
func optionalName(name string, optional bool) string {
	if optional && name != "..." {
		return name + "?"
	}
	return name
}

// plainTypeRE is a type that a ? can follow: a name, or a list of them.
var plainTypeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*(\[\])?$`) })

// optionalType marks a result that may be nil: T? for a plain type,
// A|B|nil for a union, a literal or a function type.
func optionalType(t string, optional bool) string {
	switch {
	case !optional:
		return t
	case plainTypeRE().MatchString(t):
		return t + "?"
	}
	return t + "|nil"
}
