package luaapi

// Module is the Lua surface of one module: what require returns.
type Module struct {
	Name    string   // what scripts require: "mp"
	Doc     string   // one line
	Funcs   []Func   // the module's functions, constructors included
	Classes []Class  // the classes of the objects it gives scripts
	Records []Record // the option tables its functions take
}

// Func is a function or a method. A method's self is implicit: Params
// start after it.
type Func struct {
	Name    string
	Doc     string // one line
	Params  []Param
	Returns []Return
	// Details is what the API reference says beyond Doc: sentences of one
	// paragraph, or "".
	Details string
	// Raises are the errors a script may meet, as the message after the
	// caller's file:line ("Queue.put: cannot put nil").
	Raises []string

	// How it waits (see [Module.Waiting]). A method of a host object waits
	// when the object operation it performs blocks (ops.Decl.Blocks): by
	// default the operation of its own name on its class's kind.
	Op     string // the operation it waits in when that is another: "Lock.acquire", as ops.Op.String names it
	NoWait bool   // it performs its blocking operation without waiting (put_nowait)
	Waits  bool   // it waits outside any object operation (mp.sleep, Process.join)
}

// Param is one parameter.
type Param struct {
	Name     string // "..." for the rest of the arguments
	Type     string
	Optional bool   // it may be omitted or nil
	Default  string // the value an omitted one takes, as Lua source ("true", "1"), if any
	NotNil   bool   // nil is refused, though Type allows it (Queue.put's item)
	Doc      string // optional; one line
}

// Return is one result.
type Return struct {
	Name     string // "..." for any number of results
	Type     string
	Optional bool // it may be nil or absent
	Doc      string
}

// Class is a class of objects: its methods and the fields a script reads.
type Class struct {
	Name    string // without the module: "Queue"; its type is "mp.Queue"
	Doc     string // one line
	Self    string // what the reference calls an object of it: "q" in q:get()
	Extends string // the class whose methods and fields it has too, if any
	// Details is what the API reference says of the class beyond Doc and
	// its members: sentences of one paragraph, or "".
	Details string
	// Constructor is set when the class table itself is a member of the
	// module and calling it makes an object (mp.Process{...}); other
	// classes are made by functions of the module.
	Constructor *Func
	Methods     []Func
	Fields      []Field
}

// Field is a field of an object or of an options table.
type Field struct {
	Name     string
	Type     string
	Optional bool // it may be nil (an object's) or left out (an option)
	ReadOnly bool // a script cannot set it
	Doc      string
	// Extension marks what mphost adds to the Lua contract (an option
	// Python's multiprocessing does not have).
	Extension bool
}

// Record is the shape of a table argument: an options table.
type Record struct {
	Name   string // "ProcessOptions"; its type is "mp.ProcessOptions"
	Doc    string
	Fields []Field
}

// Class returns the class named name (without the module), and whether
// there is one.
func (m *Module) Class(name string) (*Class, bool) {
	for i := range m.Classes {
		if m.Classes[i].Name == name {
			return &m.Classes[i], true
		}
	}
	return nil, false
}

// Record returns the options table named name, and whether there is one.
func (m *Module) Record(name string) (*Record, bool) {
	for i := range m.Records {
		if m.Records[i].Name == name {
			return &m.Records[i], true
		}
	}
	return nil, false
}

// Members are the names of the module table's members: its functions and
// the classes whose table it holds.
func (m *Module) Members() []string {
	var names []string
	for _, f := range m.Funcs {
		names = append(names, f.Name)
	}
	for _, c := range m.Classes {
		if c.Constructor != nil {
			names = append(names, c.Name)
		}
	}
	return names
}

// AllMethods are the methods of class c, its own and those it extends, in
// that order.
func (m *Module) AllMethods(c *Class) []Func {
	methods := append([]Func(nil), c.Methods...)
	if parent, ok := m.Class(c.Extends); ok && c.Extends != "" {
		methods = append(methods, m.AllMethods(parent)...)
	}
	return methods
}

// AllFields are the fields of class c, its own and those it extends.
func (m *Module) AllFields(c *Class) []Field {
	fields := append([]Field(nil), c.Fields...)
	if parent, ok := m.Class(c.Extends); ok && c.Extends != "" {
		fields = append(fields, m.AllFields(parent)...)
	}
	return fields
}

// TypeName is the Lua type of the module's class or record named name:
// "mp.Queue".
func (m *Module) TypeName(name string) string { return m.Name + "." + name }
