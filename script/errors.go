package script

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// Error is an uncaught Lua error: its message, which starts with the
// "file:line:" where it was raised, and the Lua traceback from there.
type Error struct {
	Message     string
	Traceback   string
	Value       lua.LValue // the error value as raised
	Interrupted bool       // the VM's context ended the run
}

func (e *Error) Error() string { return e.Message }

// ExitError reports that the script called os.exit(Code).
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// SyntaxError is a chunk that does not compile: the chunk's name (its
// file's path for a script file), the line, and what is wrong there.
type SyntaxError struct {
	File    string
	Line    int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
}
