// fatal writes one shared map from several goroutines, without a lock and
// without end, so the runtime kills it with "fatal error: concurrent map
// writes" (exit status 2), normally within milliseconds.
//
// Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map write
package main

import (
	"os"
	"runtime"
	"sync"

	"gomapwatch/fixtures/internal/fx"
)

const workers = 4

var shared = map[uint64]int{}

//go:noinline
func writer(id int) {
	for i := 0; ; i++ {
		shared[uint64(i%4096)] = id
	}
}

func startWorkers(ready *sync.WaitGroup, start chan struct{}) {
	for i := 0; i < workers; i++ {
		go func(id int) {
			fx.Say("worker %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			writer(id)
		}(i)
	}
}

func main() {
	// With one P two goroutines never interleave inside a map write;
	// two threads preempted by the kernel do, even on one CPU.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	fx.Say("pid %d", os.Getpid())
	var ready sync.WaitGroup
	start := make(chan struct{})
	ready.Add(workers)
	startWorkers(&ready, start)
	ready.Wait()
	close(start)
	select {} // the workers never return; the runtime ends the process
}
