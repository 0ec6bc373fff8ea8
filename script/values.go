package script

import (
	"fmt"
	"reflect"

	lua "github.com/yuin/gopher-lua"
)

// ToLua converts a Go value to a Lua value of L: nil, bool, every int, uint
// and float kind (to a number), string and []byte (to a string), slices and
// arrays (to sequences), maps with string keys (to tables, converted
// through), and a [lua.LValue] as it is. Other values (a struct, a
// channel, a func) are an error.
func ToLua(L *lua.LState, v any) (lua.LValue, error) {
	return toLua(L, reflect.ValueOf(v), "value")
}

func toLua(L *lua.LState, v reflect.Value, path string) (lua.LValue, error) {
	if !v.IsValid() {
		return lua.LNil, nil
	}
	if lv, ok := v.Interface().(lua.LValue); ok {
		if lv == nil {
			return lua.LNil, nil
		}
		return lv, nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return lua.LBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return lua.LNumber(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return lua.LNumber(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(v.Float()), nil
	case reflect.String:
		return lua.LString(v.String()), nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return lua.LNil, nil
		}
		if v.Kind() == reflect.Interface {
			return toLua(L, v.Elem(), path)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return lua.LString(v.Bytes()), nil
		}
		t := L.CreateTable(v.Len(), 0)
		for i := 0; i < v.Len(); i++ {
			item, err := toLua(L, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, item)
		}
		return t, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		t := L.CreateTable(0, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			key := iter.Key().String()
			item, err := toLua(L, iter.Value(), fmt.Sprintf("%s[%q]", path, key))
			if err != nil {
				return nil, err
			}
			t.RawSetString(key, item)
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s: a Go %s cannot become a Lua value", path, v.Type())
}

// FromLua converts a Lua value to Go: nil, bool, float64 (every number),
// string, []any for a sequence 1..n (and the empty table), map[string]any
// for a table whose keys are all strings, map[any]any for any other table.
// Tables convert through; a function, a coroutine, a userdata or a table
// that contains itself is an error that names where it is.
func FromLua(v lua.LValue) (any, error) {
	return fromLua(v, "value", make(map[*lua.LTable]bool))
}

func fromLua(v lua.LValue, path string, open map[*lua.LTable]bool) (any, error) {
	switch v := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(v), nil
	case lua.LNumber:
		return float64(v), nil
	case lua.LString:
		return string(v), nil
	case *lua.LTable:
		if open[v] {
			return nil, fmt.Errorf("%s: the table contains itself", path)
		}
		open[v] = true
		defer delete(open, v)
		return tableFromLua(v, path, open)
	}
	return nil, fmt.Errorf("%s: a Lua %s has no Go value", path, v.Type())
}

func tableFromLua(t *lua.LTable, path string, open map[*lua.LTable]bool) (any, error) {
	var keys []lua.LValue
	strings := true
	t.ForEach(func(k, _ lua.LValue) {
		keys = append(keys, k)
		if _, ok := k.(lua.LString); !ok {
			strings = false
		}
	})
	if n := t.Len(); n == len(keys) && isSequence(t, n) {
		list := make([]any, n)
		for i := range list {
			item, err := fromLua(t.RawGetInt(i+1), fmt.Sprintf("%s[%d]", path, i+1), open)
			if err != nil {
				return nil, err
			}
			list[i] = item
		}
		return list, nil
	}
	if strings {
		m := make(map[string]any, len(keys))
		for _, k := range keys {
			item, err := fromLua(t.RawGet(k), fmt.Sprintf("%s.%s", path, k), open)
			if err != nil {
				return nil, err
			}
			m[string(k.(lua.LString))] = item
		}
		return m, nil
	}
	m := make(map[any]any, len(keys))
	for _, k := range keys {
		if _, ok := k.(*lua.LTable); ok {
			return nil, fmt.Errorf("%s: a table used as a key has no Go value", path)
		}
		key, err := fromLua(k, path+" key", open)
		if err != nil {
			return nil, err
		}
		item, err := fromLua(t.RawGet(k), fmt.Sprintf("%s[%s]", path, k), open)
		if err != nil {
			return nil, err
		}
		m[key] = item
	}
	return m, nil
}

// isSequence reports whether t has a value at each of 1..n. Its caller has
// counted n keys in all, so its keys are then exactly 1..n.
func isSequence(t *lua.LTable, n int) bool {
	for i := 1; i <= n; i++ {
		if t.RawGetInt(i) == lua.LNil {
			return false
		}
	}
	return true
}
