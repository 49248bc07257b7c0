// racy writes one shared map from several goroutines without a lock.
//
// Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map write
//	done                      only if every worker finished its -n writes
//
// The runtime usually kills it first with "fatal error: concurrent map writes".
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"gomapwatch/fixtures/internal/fx"
)

type pair struct{ a, b int }

// One shared map per key kind; -kind picks which runtime function the
// writes go through (mapassign_fast64, mapassign_faststr, mapassign).
// A value too big for the fast variants: string keys go through the
// generic mapassign, by a pointer to the key.
type big [160]byte

var (
	m64    = map[uint64]int{}
	m32    = map[int32]int{}
	mstr   = map[string]int{}
	mgen   = map[pair]int{}
	mfloat = map[float64]int{}
	mbig   = map[string]big{}
)

const nkeys = 1024

var keys [nkeys]string

// writer is the racy code: the unlocked map write is in this function
// itself, so it is the innermost user frame of every map write.
// noinline keeps it a real frame in every toolchain.
//
//go:noinline
func writer(kind string, id, n int) {
	for i := 0; n == 0 || i < n; i++ {
		k := (id*nkeys/4 + i) % nkeys
		switch kind {
		case "fast64":
			m64[uint64(k)] = i
		case "fast32":
			m32[int32(-k)] = i
		case "faststr":
			mstr[keys[k]] = i
		case "float":
			mfloat[float64(k)+0.5] = i
		case "bigstr":
			mbig[keys[k]] = big{byte(i)}
		default:
			mgen[pair{k, id}] = i
		}
	}
}

func startWorkers(workers, n int, kind string, ready, done *sync.WaitGroup, start chan struct{}) {
	for i := 0; i < workers; i++ {
		go func(id int) {
			defer done.Done()
			fx.Say("worker %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			writer(kind, id, n)
		}(i)
	}
}

func main() {
	workers := flag.Int("workers", 4, "writer goroutines")
	n := flag.Int("n", 0, "writes per worker, 0 = forever")
	sleep := flag.Duration("sleep", 0, "pause after the worker lines, before writing")
	kind := flag.String("kind", "fast64",
		"map key type: fast64|fast32|faststr|generic (a struct)|float|bigstr (generic, string)")
	flag.Parse()
	switch *kind {
	case "fast64", "fast32", "faststr", "generic", "float", "bigstr":
	default:
		fmt.Fprintf(os.Stderr, "racy: bad -kind %q\n", *kind)
		os.Exit(1)
	}
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
	}
	// With one P two goroutines never interleave inside a map write;
	// two threads preempted by the kernel do, even on one CPU.
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}

	fx.Say("pid %d", os.Getpid())
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(*workers)
	done.Add(*workers)
	startWorkers(*workers, *n, *kind, &ready, &done, start)
	ready.Wait()
	time.Sleep(*sleep)
	close(start)
	done.Wait()
	fx.Say("done")
}
