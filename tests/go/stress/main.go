// stress churns many goroutines over many maps, every access correctly
// synchronized: shared maps each under its own mutex, replaced now and then
// by fresh ones (the old ones are dropped, so the collector frees them and
// later maps reuse their addresses), and goroutine-local maps made and
// dropped all the time. A tracer must report no conflict, keep its tables
// from filling, and keep its memory flat.
//
// Output (stdout):
//
//	pid <PID>                     first line
//	ok maps=<N> ops=<M>           last line: maps made, map operations; exit 0
package main

import (
	"flag"
	"math/rand"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gomapwatch/fixtures/internal/fx"
)

type slot struct {
	mu sync.Mutex
	m  map[uint64]int
}

var (
	maps, ops int64
	stop      int32
)

func fresh() map[uint64]int {
	atomic.AddInt64(&maps, 1)
	return make(map[uint64]int)
}

//go:noinline
func churn(slots []slot, seed int64) {
	r := rand.New(rand.NewSource(seed))
	n := int64(0)
	for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
		s := &slots[r.Intn(len(slots))]
		k := uint64(r.Intn(64))
		s.mu.Lock()
		if i%50 == 0 {
			s.m = fresh() // the old map is garbage from here on
		}
		s.m[k] = i
		delete(s.m, k^1)
		s.mu.Unlock()
		if i%10 == 0 {
			local := fresh()
			for j := uint64(0); j < 8; j++ {
				local[j] = i
			}
			delete(local, 3)
			n += 9
		}
		n += 2
		if i%100 == 99 {
			runtime.Gosched()
		}
	}
	atomic.AddInt64(&ops, n)
}

func main() {
	goroutines := flag.Int("goroutines", 10000, "goroutines churning")
	nslots := flag.Int("slots", 1000, "shared maps, each under its own mutex")
	seconds := flag.Float64("seconds", 60, "how long to churn")
	flag.Parse()
	slots := make([]slot, *nslots)
	for i := range slots {
		slots[i].m = fresh()
	}
	fx.Say("pid %d", os.Getpid())
	var wg sync.WaitGroup
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			churn(slots, seed)
		}(int64(g))
	}
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	fx.Say("ok maps=%d ops=%d", atomic.LoadInt64(&maps), atomic.LoadInt64(&ops))
}
