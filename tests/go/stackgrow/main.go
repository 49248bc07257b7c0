// stackgrow writes and deletes map entries at every level of deep
// recursions whose frames hold arrays, so goroutine stacks grow (and are
// copied) while map functions run, and shrink again under GC, over and
// over. A goroutine churns the GC meanwhile. Every map access is either
// goroutine-local or under a mutex: a tracer must report no conflict, and
// must not crash the process (probes fire again when a map function
// restarts after growing its stack).
//
// Output (stdout) depends only on the flags, never on scheduling:
//
//	g<i> len=<L> sum=<S>      one per goroutine, in order
//	shared len=<L> sum=<S>
//	done
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	mu     sync.Mutex
	shared = map[int]int{}
)

// descend recurses to depth max, touching both maps at each level. The
// frame's array makes every level cost ~1 KiB of stack, and indexing it
// with a variable keeps it on the stack.
//
//go:noinline
func descend(id, depth, max int, own map[int]int) int {
	var pad [128]int
	pad[depth%len(pad)] = depth
	own[depth] = depth * (id + 1)
	if depth%3 == 0 {
		delete(own, depth-1)
	}
	key := id<<20 | depth
	mu.Lock()
	shared[key] = depth
	if depth%5 == 0 {
		delete(shared, key-2)
	}
	mu.Unlock()
	if depth == max {
		return pad[depth%len(pad)]
	}
	return descend(id, depth+1, max, own) + pad[(depth*7)%len(pad)]
}

// churn allocates and forces collections until stop is set; GC shrinks
// the idle goroutine stacks, so the next descent has to grow them again.
func churn(stop *int32, done *sync.WaitGroup) {
	defer done.Done()
	var keep [][]byte
	for i := 0; atomic.LoadInt32(stop) == 0; i++ {
		keep = append(keep, make([]byte, 4096+i%8192))
		if len(keep) > 256 {
			keep = keep[:0]
			runtime.GC()
		}
	}
}

func main() {
	goroutines := flag.Int("goroutines", 4, "recursing goroutines")
	depth := flag.Int("depth", 4000, "recursion depth")
	rounds := flag.Int("rounds", 10, "descents per goroutine, each on a fresh goroutine")
	flag.Parse()

	var stop int32
	var gc, wg sync.WaitGroup
	gc.Add(1)
	go churn(&stop, &gc)

	owns := make([]map[int]int, *goroutines)
	results := make([]int, *goroutines)
	for i := range owns {
		owns[i] = map[int]int{}
	}
	// A fresh goroutine per round starts on a small stack and grows it to
	// full depth again: many stack copies per round, not just the first.
	for r := 0; r < *rounds; r++ {
		for i := range owns {
			wg.Add(1)
			go func(id int) {
				defer wg.Done()
				results[id] += descend(id, 1, *depth, owns[id])
			}(i)
		}
		wg.Wait()
	}
	atomic.StoreInt32(&stop, 1)
	gc.Wait()

	for i, own := range owns {
		sum := results[i]
		for k, v := range own {
			sum += k ^ v
		}
		fmt.Printf("g%d len=%d sum=%d\n", i, len(own), sum)
	}
	sum := 0
	for k, v := range shared {
		sum += k ^ v
	}
	fmt.Printf("shared len=%d sum=%d\n", len(shared), sum)
	fmt.Println("done")
}
