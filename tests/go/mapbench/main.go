// mapbench times map operations from one goroutine, for bench/run.sh: run
// it plain, under bare uprobes on gomapwatch's probe points and under
// gomapwatch, and the differences are the cost of the probes.
//
// Output: "<op>s <N> depth <D> ns/op <X>"
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

//go:noinline
func read(m map[uint64]int, k uint64) int {
	return m[k]
}

// deep runs f under d more frames: a stack like a real service's, which a
// tracer that walks stacks on every write pays for.
//
//go:noinline
func deep(d int, f func()) {
	if d == 0 {
		f()
		return
	}
	deep(d-1, f)
}

func main() {
	n := flag.Int("n", 200000, "map operations")
	depth := flag.Int("depth", 0, "extra stack frames under the timed loop")
	op := flag.String("op", "write", "write|read")
	flag.Parse()
	m := make(map[uint64]int, 1024)
	for k := uint64(0); k < 1024; k++ {
		m[k] = 0 // grown up front: the timed writes never resize
	}
	sink := 0
	var el time.Duration
	deep(*depth, func() {
		start := time.Now()
		if *op == "read" {
			for i := 0; i < *n; i++ {
				sink += read(m, uint64(i&1023))
			}
		} else {
			for i := 0; i < *n; i++ {
				write(m, uint64(i&1023), i)
			}
		}
		el = time.Since(start)
	})
	fmt.Printf("%ss %d depth %d ns/op %.1f\n", *op, *n, *depth, float64(el.Nanoseconds())/float64(*n))
	_ = sink
}
