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
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

const workers = 4

var shared = map[uint64]int{}

var outMu sync.Mutex

// say writes one whole line with a single write call (os.Stdout is
// unbuffered), so lines from different goroutines never mix.
func say(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// goid parses the calling goroutine's ID from the "goroutine N [" header
// of its stack trace: the same ID the runtime keeps in g.goid.
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	id, err := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	if err != nil {
		panic("cannot parse goroutine id: " + err.Error())
	}
	return id
}

//go:noinline
func writer(id int) {
	for i := 0; ; i++ {
		shared[uint64(i%4096)] = id
	}
}

func startWorkers(ready *sync.WaitGroup, start chan struct{}) {
	for i := 0; i < workers; i++ {
		go func(id int) {
			say("worker %d goid %d", id, goid())
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
	say("pid %d", os.Getpid())
	var ready sync.WaitGroup
	start := make(chan struct{})
	ready.Add(workers)
	startWorkers(&ready, start)
	ready.Wait()
	close(start)
	select {} // the workers never return; the runtime ends the process
}
