// Command gendoc rewrites the generated regions of the Lua API reference
// from the declared surface of mp (luaapi.MP): go generate in
// internal/luaapi runs it on docs/api.md.
//
//	go run ./internal/luaapi/gendoc docs/api.md
package main

import (
	"fmt"
	"os"

	"github.com/mphost/mphost/internal/luaapi"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc FILE.md")
		os.Exit(2)
	}
	if err := rewrite(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

// rewrite rewrites path's generated regions, leaving the file untouched
// when they are up to date.
func rewrite(path string) error {
	page, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text, err := luaapi.MP.Reference(string(page))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if text == string(page) {
		return nil
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
