//go:build !unix

package allinone_test

import "time"

// processCPU is not measured here (the benchmarks report 0 cpu-µs/op).
func processCPU() time.Duration { return 0 }
