// locked writes and deletes one shared map from many goroutines, every
// access under one mutex, as hard as it can: heavy contention, no race.
// A tracer must report no conflict here.
//
// Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map write
//	ok writes=<N>             last line; N counts writes and deletes; exit 0
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gomapwatch/fixtures/internal/fx"
)

type pair struct{ a, b int }

var (
	mu   sync.Mutex
	m64  = map[uint64]int{}
	mstr = map[string]int{}
	mgen = map[pair]int{}
)

const nkeys = 1024

var keys [nkeys]string

var stop int32 // set once -seconds have passed

// writer holds the lock around every map write and delete; it returns the
// number of operations done.
//
//go:noinline
func writer(kind string, id int) int {
	ops := 0
	for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
		k := (id*nkeys/8 + i) % nkeys
		mu.Lock()
		switch kind {
		case "fast64":
			m64[uint64(k)] = i
			if i%4 == 0 {
				delete(m64, uint64((k+nkeys/2)%nkeys))
			}
		case "faststr":
			mstr[keys[k]] = i
			if i%4 == 0 {
				delete(mstr, keys[(k+nkeys/2)%nkeys])
			}
		default:
			mgen[pair{k, id}] = i
			if i%4 == 0 {
				delete(mgen, pair{(k + nkeys/2) % nkeys, id})
			}
		}
		mu.Unlock()
		ops++
		if i%4 == 0 {
			ops++
		}
	}
	return ops
}

func startWorkers(workers int, kind string, ready, done *sync.WaitGroup, start chan struct{}, total *int64) {
	for i := 0; i < workers; i++ {
		go func(id int) {
			defer done.Done()
			fx.Say("worker %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			atomic.AddInt64(total, int64(writer(kind, id)))
		}(i)
	}
}

func main() {
	workers := flag.Int("workers", 8, "writer goroutines")
	seconds := flag.Float64("seconds", 5, "how long to write, after -sleep")
	sleep := flag.Duration("sleep", 0, "pause after the worker lines, before writing")
	kind := flag.String("kind", "fast64", "map key type: fast64|faststr|generic")
	flag.Parse()
	switch *kind {
	case "fast64", "faststr", "generic":
	default:
		fmt.Fprintf(os.Stderr, "locked: bad -kind %q\n", *kind)
		os.Exit(1)
	}
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
	}
	// Same thread count as racy, so the two differ only in the lock.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}

	fx.Say("pid %d", os.Getpid())
	var ready, done sync.WaitGroup
	var total int64
	start := make(chan struct{})
	ready.Add(*workers)
	done.Add(*workers)
	startWorkers(*workers, *kind, &ready, &done, start, &total)
	ready.Wait()
	time.Sleep(*sleep)
	close(start)
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	done.Wait()
	fx.Say("ok writes=%d", total)
}
