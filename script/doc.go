// Package script is the Lua side of mphost that embedders and plugin authors
// share: the errors a run ends with, the conversion of values between Go and
// Lua, and helpers for the arguments of module functions written in Go.
//
// The Lua VM itself, its `mp` module and the codec that carries values between
// processes are mphost's own and live under internal/; this package holds only
// what a Go program that embeds mphost ([github.com/mphost/mphost/host]) or
// gives scripts a module ([github.com/mphost/mphost/plugins]) needs.
package script
