package luaapi

import (
	"fmt"
	"strings"
)

// The markers of a generated region of the API reference: a line that
// starts with regionStart and ends with regionClose, the lines the
// generator writes, then a line regionEnd.
const (
	regionStart = "<!-- generated: "
	regionClose = " -->"
	regionEnd   = "<!-- end -->"
)

// wrapWidth is the width the generated paragraphs are wrapped at, as the
// hand-written ones are.
const wrapWidth = 100

// Reference returns page, the Markdown of the API reference, with each
// generated region rewritten from m. A region is the text between a line
// "<!-- generated: WHAT -->" and the next line "<!-- end -->"; WHAT is
//
//	functions NAME...  the module's functions named, in that order
//	class NAME         the class: its constructor, methods and fields
//	options NAME       the options table named, as a table
//
// Everything outside the regions is kept as it is. An entry gives the
// signature, with optional parameters in brackets and their defaults, the
// returns, the one line of doc, the details, how it waits (from the
// operation it performs: ops.Decl.Blocks), each parameter's type and doc,
// and the errors it raises.
func (m *Module) Reference(page string) (string, error) {
	var out strings.Builder
	lines := strings.SplitAfter(page, "\n")
	for i := 0; i < len(lines); i++ {
		out.WriteString(lines[i])
		line := strings.TrimRight(lines[i], "\n")
		if !strings.HasPrefix(line, regionStart) {
			continue
		}
		if !strings.HasSuffix(line, regionClose) {
			return "", fmt.Errorf("line %d: a region's first line ends with %q", i+1, regionClose)
		}
		what := strings.TrimSuffix(strings.TrimPrefix(line, regionStart), regionClose)
		end := i + 1
		for end < len(lines) && strings.TrimRight(lines[end], "\n") != regionEnd {
			if strings.HasPrefix(lines[end], regionStart) {
				return "", fmt.Errorf("line %d: region %q has no %s before the next", i+1, what, regionEnd)
			}
			end++
		}
		if end == len(lines) {
			return "", fmt.Errorf("line %d: region %q has no %s", i+1, what, regionEnd)
		}
		text, err := m.region(what)
		if err != nil {
			return "", fmt.Errorf("line %d: %w", i+1, err)
		}
		out.WriteString(text)
		out.WriteString(lines[end])
		i = end
	}
	return out.String(), nil
}

// region is the text of the region WHAT.
func (m *Module) region(what string) (string, error) {
	fields := strings.Fields(what)
	if len(fields) < 2 {
		return "", fmt.Errorf("region %q: want functions, class or options and a name", what)
	}
	var b strings.Builder
	switch kind, names := fields[0], fields[1:]; {
	case kind == "functions":
		for _, name := range names {
			f, ok := m.Func(name)
			if !ok {
				return "", fmt.Errorf("region %q: mp has no function %s", what, name)
			}
			m.writeEntry(&b, nil, m.Name+".", f)
		}
	case kind == "class" && len(names) == 1:
		c, ok := m.Class(names[0])
		if !ok {
			return "", fmt.Errorf("region %q: mp has no class %s", what, names[0])
		}
		m.writeClass(&b, c)
	case kind == "options" && len(names) == 1:
		r, ok := m.Record(names[0])
		if !ok {
			return "", fmt.Errorf("region %q: mp has no options table %s", what, names[0])
		}
		writeOptions(&b, r)
	default:
		return "", fmt.Errorf("region %q: want functions NAME..., class NAME or options NAME", what)
	}
	return b.String(), nil
}

// Func returns the module function named name, and whether there is one.
func (m *Module) Func(name string) (*Func, bool) {
	for i := range m.Funcs {
		if m.Funcs[i].Name == name {
			return &m.Funcs[i], true
		}
	}
	return nil, false
}

// writeClass writes a class's paragraph, its constructor and methods as a
// list, and its fields as a table.
func (m *Module) writeClass(b *strings.Builder, c *Class) {
	intro := fmt.Sprintf("`%s`: %s", m.TypeName(c.Name), c.Doc)
	if c.Extends != "" {
		intro += fmt.Sprintf(" It has the methods and fields of `%s`", m.TypeName(c.Extends))
		if len(c.Methods) > 0 {
			intro += ", and these:"
		} else {
			intro += "."
		}
	}
	b.WriteString(wrap(strings.TrimSpace(intro+" "+c.Details), "", ""))
	if c.Constructor != nil || len(c.Methods) > 0 {
		b.WriteString("\n")
	}
	if c.Constructor != nil {
		m.writeEntry(b, nil, m.Name+".", c.Constructor)
	}
	for i := range c.Methods {
		m.writeEntry(b, c, c.Self+":", &c.Methods[i])
	}
	if len(c.Fields) == 0 {
		return
	}
	b.WriteString("\n| field | type | meaning |\n|---|---|---|\n")
	for _, f := range c.Fields {
		typ := cellType(f.Type, f.Optional)
		if f.ReadOnly {
			typ += ", read-only"
		} else {
			typ += ", settable"
		}
		fmt.Fprintf(b, "| `%s.%s` | %s | %s |\n", c.Self, f.Name, typ, cell(f.Doc))
	}
}

// writeOptions writes an options table's fields as a table.
func writeOptions(b *strings.Builder, r *Record) {
	b.WriteString("| option | type | meaning |\n|---|---|---|\n")
	for _, f := range r.Fields {
		doc := cell(f.Doc)
		if f.Extension {
			doc = "**(mphost)** " + doc
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", f.Name, cellType(f.Type, false), doc)
	}
}

// writeEntry writes one function or method as a list item: its signature
// under prefix ("mp." or "q:"), returns, doc, details, waiting,
// parameters and errors. c is the method's class; nil for a function.
func (m *Module) writeEntry(b *strings.Builder, c *Class, prefix string, f *Func) {
	text := "`" + prefix + f.Name + "(" + signature(f.Params) + ")`"
	if len(f.Returns) > 0 {
		types := make([]string, len(f.Returns))
		for i, r := range f.Returns {
			types[i] = optionalType(r.Type, r.Optional)
			if r.Name == "..." {
				types[i] += "..."
			}
		}
		text += " → `" + strings.Join(types, ", ") + "`"
	}
	sentences := []string{text + ": " + f.Doc, f.Details, waitSentence(m.Waiting(c, f))}
	for _, p := range f.Params {
		s := "`" + p.Name + "` (" + proseType(p.Type) + ")"
		if p.Doc != "" {
			s += ": " + p.Doc
		}
		sentences = append(sentences, s+".")
	}
	if len(f.Raises) > 0 {
		sentences = append(sentences, "Raises `"+strings.Join(f.Raises, "`; `")+"`.")
	}
	var parts []string
	for _, s := range sentences {
		if s != "" {
			parts = append(parts, s)
		}
	}
	b.WriteString(wrap(strings.Join(parts, " "), "- ", "  "))
}

// waitSentence says how a call waits, or nothing when it does not.
func waitSentence(w Waiting) string {
	switch {
	case w.Iterator && w.Waits:
		return "Each step of the iterator waits as long as it takes; interruptible."
	case w.Waits && w.Timeout:
		return "Waits at most `timeout` seconds; interruptible."
	case w.Waits:
		return "Waits as long as it takes; interruptible."
	}
	return ""
}

// signature is a parameter list as the reference writes it: required
// parameters, then each optional one in nested brackets with its default:
// "item [, block=true [, timeout]]".
func signature(params []Param) string {
	var s strings.Builder
	opened := 0
	for i, p := range params {
		name := p.Name
		if p.Default != "" {
			name += "=" + p.Default
		}
		sep := ""
		if i > 0 {
			sep = ", "
		}
		if p.Optional && p.Name != "..." {
			if i > 0 {
				sep = " [, "
			} else {
				sep = "["
			}
			opened++
		}
		s.WriteString(sep + name)
	}
	s.WriteString(strings.Repeat("]", opened))
	return s.String()
}

// proseType is a type as a sentence or a table cell says it: unions
// spelled out ("string or integer"), as | would end a cell.
func proseType(t string) string { return strings.ReplaceAll(t, "|", " or ") }

// cellType is the type of a field or option, for a table cell.
func cellType(t string, optional bool) string {
	if optional {
		return proseType(t) + " or nil"
	}
	return proseType(t)
}

// cell escapes text for a table cell.
func cell(text string) string { return strings.ReplaceAll(text, "|", `\|`) }

// wrap fills text into lines of at most wrapWidth, the first starting with
// first and the others with indent. A code span is never broken.
func wrap(text, first, indent string) string {
	var b strings.Builder
	line := first
	empty := true
	for _, word := range codeWords(text) {
		if !empty && len(line)+1+len(word) > wrapWidth {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	b.WriteString(line + "\n")
	return b.String()
}

// codeWords splits text at spaces outside code spans.
func codeWords(text string) []string {
	var words []string
	var word strings.Builder
	inCode := false
	for _, r := range text {
		switch {
		case r == '`':
			inCode = !inCode
		case r == ' ' && !inCode:
			if word.Len() > 0 {
				words = append(words, word.String())
				word.Reset()
			}
			continue
		}
		word.WriteRune(r)
	}
	if word.Len() > 0 {
		words = append(words, word.String())
	}
	return words
}
