module github.com/mphost/mphost

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/spf13/pflag v1.1.0
	github.com/yuin/gopher-lua v1.1.2
)
