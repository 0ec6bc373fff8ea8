// Command bare is BenchmarkChildMemory's floor of a Go program: it prints
// its pid and waits for a line on stdin.
package main

import "github.com/mphost/mphost/bench/memfloor"

func main() { memfloor.Idle() }
