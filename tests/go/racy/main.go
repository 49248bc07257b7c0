// racy writes one shared map from several goroutines without a lock.
//
// Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map write
//	racer goid <G>            with -every, before its first write
//	done                      only if every worker finished its -n writes
//
// The runtime usually kills it first with "fatal error: concurrent map writes".
//
// With -every D the race recurs instead, and the runtime seldom sees it:
// the workers write the string-keyed map under a lock, pausing between
// writes (busy, not asleep), and one more goroutine writes it without the
// lock every D (after -sleep), with a key so long that hashing it takes
// about a millisecond, during which the workers' writes come and go.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
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

var (
	mu   sync.Mutex
	spun uint64
)

// spin burns about d of CPU time: the workers stay busy between writes.
//
//go:noinline
func spin(d time.Duration) {
	x := spun
	for t := time.Now(); time.Since(t) < d; {
		for i := 0; i < 100; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	spun = x
}

// lockedWriter is correct on its own: every write under mu.
//
//go:noinline
func lockedWriter(id int) {
	for i := 0; ; i++ {
		mu.Lock()
		mstr[keys[(id*nkeys/4+i)%nkeys]] = i
		mu.Unlock()
		spin(500 * time.Microsecond)
	}
}

// racer is the racy code of -every: it never takes mu.
//
//go:noinline
func racer(every time.Duration, key string) {
	for i := 0; ; i++ {
		mstr[key] = i
		time.Sleep(every)
	}
}

// recurring runs -every: it never returns.
func recurring(workers int, every, sleep time.Duration) {
	// 16 MiB: hashed in about half a millisecond; the same string each
	// time, so that finding it again compares pointers, not bytes
	key := strings.Repeat("k", 16<<20)
	for i := 0; i < workers; i++ {
		go func(id int) {
			fx.Say("worker %d goid %d", id, fx.Goid())
			lockedWriter(id)
		}(i)
	}
	time.Sleep(sleep)
	fx.Say("racer goid %d", fx.Goid())
	racer(every, key)
}

func main() {
	workers := flag.Int("workers", 4, "writer goroutines")
	n := flag.Int("n", 0, "writes per worker, 0 = forever")
	sleep := flag.Duration("sleep", 0, "pause after the worker lines, before writing")
	kind := flag.String("kind", "fast64",
		"map key type: fast64|fast32|faststr|generic (a struct)|float|bigstr (generic, string)")
	every := flag.Duration("every", 0, "a race that recurs this often instead, -kind faststr (see above)")
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
	if *every > 0 {
		recurring(*workers, *every, *sleep)
	}
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
