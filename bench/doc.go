// Package bench holds mphost's benchmarks. Performance goals live here as Go
// Benchmark functions, never in timed tests:
//
//	go test -run '^$' -bench . -benchmem ./bench/
//
// The codec benchmarks measure a round trip (encode in one VM, decode in
// another) of the values the issue tracker names; the process, queue and pool
// workloads will stand beside Python multiprocessing in the same run.
package bench
