package host

import "github.com/mphost/mphost/script"

// The errors a run ends with. They are aliases of the script package's
// types, which plugin authors share: errors.As with either works.
type (
	// Error is an uncaught Lua error: Message starts with the "file:line:"
	// where it was raised; Traceback is the Lua traceback from there.
	Error = script.Error
	// ExitError reports that the script called os.exit(Code), Code != 0.
	ExitError = script.ExitError
	// SyntaxError is a script that does not compile: File, Line, Message.
	SyntaxError = script.SyntaxError
)
