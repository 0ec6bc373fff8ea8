package pluginproto

import (
	"fmt"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"github.com/mphost/mphost/internal/vm"
)

// A plugin gets data and gives data back: a function (a plugin cannot call
// back into a script, nor a script run the plugin's Lua) or an mp object (a
// plugin has no host to reach it through) is refused before it is encoded,
// on whichever side it would leave.

// EncodeValues encodes each value on its own with v's codec, so that nil
// keeps its place. what names the values in errors ("argument", "result"):
// a value that cannot go to or come from a plugin is refused with its path,
// as "argument #2.cb".
func EncodeValues(v *vm.VM, what string, vals []lua.LValue) ([][]byte, error) {
	out := make([][]byte, len(vals))
	for i, val := range vals {
		root := what + " #" + strconv.Itoa(i+1)
		if err := CheckData(root, val); err != nil {
			return nil, err
		}
		data, err := v.Encode(root, val)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// DecodeValues decodes what EncodeValues encoded, and refuses what
// EncodeValues would have refused.
func DecodeValues(v *vm.VM, what string, data [][]byte) ([]lua.LValue, error) {
	out := make([]lua.LValue, len(data))
	for i, d := range data {
		val, err := v.Decode(d)
		if err != nil {
			return nil, fmt.Errorf("%s #%d: %w", what, i+1, err)
		}
		if err := CheckData(what+" #"+strconv.Itoa(i+1), val); err != nil {
			return nil, err
		}
		out[i] = val
	}
	return out, nil
}

// CheckData refuses a value that holds a function, an mp object or any
// other userdata, anywhere in its tables (keys and metatables included),
// naming where it sits from root.
func CheckData(root string, v lua.LValue) error {
	c := dataCheck{seen: make(map[*lua.LTable]bool)}
	return c.value(root, v)
}

type dataCheck struct {
	seen map[*lua.LTable]bool // tables checked or being checked: cycles end here
}

func (c *dataCheck) value(path string, v lua.LValue) error {
	switch v := v.(type) {
	case *lua.LFunction:
		return fmt.Errorf("%s is a function: a plugin takes and gives data only, it cannot call back into the script", path)
	case *lua.LUserData:
		if h, ok := v.Value.(vm.Handle); ok {
			kind, _ := h.Handle()
			return fmt.Errorf("%s is an mp.%s: a plugin takes and gives data only, it cannot use mp objects", path, kind)
		}
		return fmt.Errorf("%s is a userdata: a plugin takes and gives data only", path)
	case *lua.LTable:
		return c.table(path, v)
	}
	return nil // the codec refuses the rest (a coroutine, a channel) with its own reason
}

func (c *dataCheck) table(path string, t *lua.LTable) error {
	if c.seen[t] {
		return nil
	}
	c.seen[t] = true
	var err error
	t.ForEach(func(k, v lua.LValue) {
		if err == nil {
			err = c.value(path+" key "+keyText(k), k)
		}
		if err == nil {
			err = c.value(path+keyPath(k), v)
		}
	})
	if err == nil && t.Metatable != lua.LNil {
		err = c.value(path+" (its metatable)", t.Metatable)
	}
	return err
}

// keyPath is the step from a table to its value at k: ".name" or "[3]".
func keyPath(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok && isName(string(s)) {
		return "." + string(s)
	}
	return "[" + keyText(k) + "]"
}

func keyText(k lua.LValue) string {
	if s, ok := k.(lua.LString); ok {
		return strconv.Quote(string(s))
	}
	if n, ok := k.(lua.LNumber); ok {
		return n.String()
	}
	return k.Type().String()
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
