// mapbench times map writes from one goroutine, for bench/run.sh: run it
// plain and under gomapwatch, and the difference is the cost of the probes.
//
// Output: "writes <N> ns/op <X>"
package main

import (
	"flag"
	"fmt"
	"time"
)

//go:noinline
func write(m map[uint64]int, k uint64, v int) {
	m[k] = v
}

func main() {
	n := flag.Int("n", 200000, "map writes")
	flag.Parse()
	m := make(map[uint64]int, 1024)
	for k := uint64(0); k < 1024; k++ {
		m[k] = 0 // grown up front: the timed writes never resize
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		write(m, uint64(i&1023), i)
	}
	el := time.Since(start)
	fmt.Printf("writes %d ns/op %.1f\n", *n, float64(el.Nanoseconds())/float64(*n))
}
