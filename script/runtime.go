package script

// Runtime is the seam between a VM and the world outside it: everything a
// builtin of the `mp` module needs that its own VM cannot do alone. The host
// implements it directly for the main script; a child process implements it
// with calls to the host.
type Runtime interface {
	// Self describes the process this VM runs in.
	Self() ProcessInfo
	// Parent describes the process that started this one; ok is false in the
	// main script.
	Parent() (info ProcessInfo, ok bool)
}

// ProcessInfo names a process as `mp.current_process()` shows it.
type ProcessInfo struct {
	Name string // "MainProcess" for the main script, "Process-N" or the given name otherwise
	Pid  int    // the operating-system process id
}
