// deepinline writes maps from small helpers the compiler inlines three
// levels deep into a worker goroutine's loop, so that the runtime's
// traceback of the worker holds inlined frames, printed "f(...)":
//
//	main.(*store).put(...)       the map write, inlined into
//	main.(*service).record(...)  inlined into
//	main.handle(...)             inlined into
//	main.startWorkers.func1()    the worker, started by main.startWorkers
//
// None of the helpers is marked //go:noinline: the compiler's own choice
// is the point (check with go build -gcflags=-m).
//
//	-mode fatal     workers write one store's map without a lock until the
//	                runtime dies of "fatal error: concurrent map writes"
//	-mode nilpanic  one worker writes a store whose map is nil: "panic:
//	                assignment to entry in nil map", recovered by nobody
//
// Both exit with status 2. Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map write
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"

	"gomapwatch/fixtures/internal/fx"
)

const keys = 4096

type store struct {
	m map[uint64]int
}

func (s *store) put(k uint64, v int) {
	s.m[k] = v
}

type service struct {
	st    *store
	calls int
}

func (s *service) record(k uint64, v int) {
	s.calls++
	s.st.put(k, v)
}

func handle(svc *service, i, id int) {
	svc.record(uint64(i%keys), id)
}

// startWorkers starts n workers, each with its own service on the shared
// store; they write once start is closed.
// descend calls f depth frames down: stacks deeper than gomapwatch keeps.
func descend(depth int, f func()) {
	if depth > 0 {
		descend(depth-1, f)
		return
	}
	f()
}

func startWorkers(st *store, n, depth int, ready *sync.WaitGroup, start chan struct{}) {
	for i := 0; i < n; i++ {
		svc, id := &service{st: st}, i
		go func() {
			fx.Say("worker %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			descend(depth, func() {
				for i := 0; ; i++ {
					handle(svc, i, id)
				}
			})
		}()
	}
}

func main() {
	mode := flag.String("mode", "fatal", "fatal or nilpanic")
	depth := flag.Int("depth", 0, "frames between the worker and its loop")
	flag.Parse()
	st, n := &store{}, 1
	switch *mode {
	case "fatal":
		// Every key present: the workers only overwrite, the map never
		// grows, and the first overlapping write is fatal.
		st.m = make(map[uint64]int, keys)
		for k := uint64(0); k < keys; k++ {
			st.m[k] = 0
		}
		n = 4
		// with one P two goroutines never interleave inside a map write
		if runtime.GOMAXPROCS(0) < 2 {
			runtime.GOMAXPROCS(2)
		}
	case "nilpanic":
	default:
		fmt.Fprintf(os.Stderr, "deepinline: unknown -mode %q\n", *mode)
		os.Exit(64)
	}
	fx.Say("pid %d", os.Getpid())
	var ready sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	startWorkers(st, n, *depth, &ready, start)
	ready.Wait()
	close(start)
	select {} // the workers never return; the runtime ends the process
}
