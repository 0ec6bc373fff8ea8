package vm

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// sizeUnits are the units a memory size may carry, all powers of 1024 as
// in GOMEMLIMIT and Docker's limits.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}

// ParseSize reads a memory size: a number of bytes, or a number and a unit
// (K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB, any case; each a power
// of 1024), as in "512MB" or "1.5 GB". The size must be at least 1 byte.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	n, err := strconv.ParseFloat(t[:i], 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("%q is not a size (a number of bytes, or one with a unit: 512MB, 1GB)", s)
	}
	return sizeBytes(n * unit)
}

// sizeBytes checks a size in bytes: whole, at least 1 byte, at most
// math.MaxInt64.
func sizeBytes(n float64) (int64, error) {
	if !(n >= 1) || n >= math.MaxInt64 {
		return 0, fmt.Errorf("a size must be at least 1 byte and less than 8 EB, not %s", strconv.FormatFloat(n, 'g', -1, 64))
	}
	return int64(n), nil
}

// FormatSize writes a size in bytes for a message: "64 MB", "1.5 GB",
// "100 bytes", in the units ParseSize reads.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n >= u.size {
			return fmt.Sprintf("%.4g %s", float64(n)/float64(u.size), u.name)
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// memoryLimitOption reads option memory_limit of fname (mp.Process,
// mp.Pool): nil gives 0 (no limit of its own), a number is bytes, a
// string a size as ParseSize reads it. Anything else raises.
func memoryLimitOption(L *lua.LState, fname string, v lua.LValue) int64 {
	var n int64
	var err error
	switch v := v.(type) {
	case *lua.LNilType:
		return 0
	case lua.LNumber:
		n, err = sizeBytes(float64(v))
	case lua.LString:
		n, err = ParseSize(string(v))
	default:
		err = fmt.Errorf("it must be a size (512MB, 1GB) or a number of bytes, not %s", aType(v))
	}
	if err != nil {
		L.RaiseError("%s: memory_limit: %v", fname, err)
	}
	return n
}
