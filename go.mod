module github.com/mphost/mphost

go 1.26

require (
	github.com/spf13/pflag v1.1.0 // indirect
	github.com/yuin/gopher-lua v1.1.2 // indirect
)
