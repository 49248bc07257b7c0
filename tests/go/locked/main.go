// locked uses every kind of map operation from many goroutines, each one
// correctly synchronized, as hard as it can: shared maps under one mutex,
// reads and iteration under an RWMutex, goroutine-local maps without one.
// Key kinds: int32, int64, string, pointer, float, struct, interface,
// generic (Go 1.18+); values up to 2 KiB; assign, delete (also on empty and
// nil maps, and with unhashable keys, a recovered panic inside the runtime),
// clear on empty and non-empty maps and the range-delete idiom, growth,
// maps.Clone (Go 1.21+), maps on a goroutine's own stack while that stack
// grows. A tracer must report no conflict here. With -slow, two more
// goroutines take turns writing a map, under a lock of its own, with a key
// that takes about a tenth of a second to hash: writes a tracer sees
// inside for that long.
//
// Output (stdout), one line each, never interleaved:
//
//	pid <PID>                 first line
//	worker <i> goid <G>       one per worker, before any map operation
//	ok writes=<N>             last line; N counts map operations; exit 0
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gomapwatch/fixtures/internal/fx"
)

type pair struct{ a, b int }

type node struct{ v int }

type big struct{ b [40]int64 } // > 128 bytes: the generic mapassign

type fat [1100]byte // > 1024 bytes: mapaccess1_fat / mapaccess2_fat

const nkeys = 1024

var (
	mu   sync.Mutex
	m32  = map[int32]int{}
	m64  = map[int64]int{}
	mstr = map[string]int{}
	mptr = map[*node]int{}
	mflt = map[float64]int{}
	mst  = map[pair]int{}
	mbig = map[int]big{}
	mfat = map[int]fat{}
	mif  = map[interface{}]int{}
	mclr = map[int]int{}
	mgrw = map[uint64]int{}
	// empty on purpose: deletes and clears take their early returns
	e32  = map[int32]int{}
	e64  = map[int64]int{}
	estr = map[string]int{}
	egen = map[pair]int{}
	eif  = map[interface{}]int{}
	mnil map[string]int

	rw  sync.RWMutex
	mrd = map[uint64]int{}

	keys  [nkeys]string
	nodes [nkeys]*node
	stop  int32 // set once -seconds have passed
)

// op runs operation i of the round for worker id under the right lock and
// returns how many map operations it did.
//
//go:noinline
func op(id, i int) int {
	k := (id*nkeys/8 + i) % nkeys
	k2 := (k + nkeys/2) % nkeys
	switch i % 16 {
	case 0:
		return locked(func() int { m32[int32(k)] = i; delete(m32, int32(k2)); return 2 })
	case 1:
		return locked(func() int { m64[int64(k)] = i; delete(m64, int64(k2)); return 2 })
	case 2:
		return locked(func() int { mstr[keys[k]] = i; delete(mstr, keys[k2]); return 2 })
	case 3:
		return locked(func() int { mptr[nodes[k]] = i; delete(mptr, nodes[k2]); return 2 })
	case 4:
		return locked(func() int { mflt[float64(k)/3] = i; delete(mflt, float64(k2)/3); return 2 })
	case 5:
		return locked(func() int { mst[pair{k, id}] = i; delete(mst, pair{k2, id}); return 2 })
	case 6:
		return locked(func() int { mbig[k] = big{}; delete(mbig, k2); return 2 })
	case 7:
		return locked(func() int {
			v := mfat[k]
			v[0]++
			mfat[k] = v
			_, ok := mfat[k2]
			if ok {
				delete(mfat, k2)
			}
			return 3
		})
	case 8:
		return locked(func() int { mif[k] = i; mif[keys[k]] = i; delete(mif, k2); return 3 })
	case 9:
		return locked(clears)
	case 10:
		return locked(func() int {
			delete(e32, int32(k))
			delete(e64, int64(k))
			delete(estr, keys[k])
			delete(egen, pair{k, k})
			delete(eif, k)
			delete(mnil, keys[k])
			_ = mnil[keys[k]]
			return 7
		})
	case 11:
		return locked(func() int { return grow(i) })
	case 12:
		return reads(k, i)
	case 13:
		return locked(func() int { return newer(k, i) })
	case 14:
		return local(k)
	default:
		if i%64 != 15 {
			return locked(func() int { _, ok := m32[int32(k)]; _ = m64[int64(k)]; _, _ = mstr[keys[k]]; _ = ok; return 3 })
		}
		// panics inside the runtime's map functions, recovered
		return locked(unhashable) + nilAssign()
	}
}

func locked(f func() int) int {
	mu.Lock()
	defer mu.Unlock()
	return f()
}

// clears empties a map that has keys and then the empty map again, by
// clear() (Go 1.21+) and by the range-delete idiom: both are mapclear.
func clears() int {
	for j := 0; j < 8; j++ {
		mclr[j] = j
	}
	n := 8 + clearMap(mclr) + clearMap(mclr)
	mclr[1] = 1
	for k := range mclr {
		delete(mclr, k)
	}
	for k := range mclr {
		delete(mclr, k)
	}
	return n + 3
}

// grow makes a shared map grow (evacuation in mapassign and mapdelete),
// then empties it.
func grow(i int) int {
	for j := 0; j < 200; j++ {
		mgrw[uint64(i*200+j)] = j
	}
	for k := range mgrw {
		if k%2 == 0 {
			delete(mgrw, k)
		}
	}
	n := 200 + len(mgrw) + clearMap(mgrw)
	return n
}

// reads reads and iterates under a read lock, writes under the write lock.
func reads(k, i int) int {
	if i%8 == 12%8 && i%3 == 0 {
		rw.Lock()
		mrd[uint64(k)] = i
		delete(mrd, uint64((k+1)%nkeys))
		rw.Unlock()
		return 2
	}
	rw.RLock()
	defer rw.RUnlock()
	n := 0
	_ = mrd[uint64(k)]
	_, ok := mrd[uint64(k)+1]
	for range mrd {
		if n++; n > 4 {
			break
		}
	}
	_ = ok
	return n + 2
}

// local uses a map no other goroutine sees: no lock needed.
func local(k int) int {
	m := make(map[int]string)
	for j := 0; j < 20; j++ {
		m[k+j] = keys[j]
	}
	delete(m, k)
	for kk := range m {
		delete(m, kk)
		break
	}
	n := 22 + clearMap(m)
	return n
}

// stackMaps writes maps that live on fresh goroutines' stacks, from depths
// that make some writes grow, and so move, their stack mid-write. Run
// before the workers start, while new goroutines' stacks start small.
func stackMaps(n int) int {
	ops := 0
	for i := 0; i < n; i++ {
		done := make(chan int)
		go func(d int) { done <- deepLocal(d) }(i % 1000)
		ops += <-done
	}
	return ops
}

//go:noinline
func deepLocal(d int) int {
	var pad [16]byte
	if d > 0 {
		pad[d%16] = byte(d)
		return deepLocal(d-1) + int(pad[d%16]&1)
	}
	m := make(map[int]int) // it does not escape: it lives on this stack
	for j := 0; j < 64; j++ {
		m[j] = j
	}
	delete(m, 3)
	return len(m) + 65
}

// unhashable panics inside mapassign and mapdelete (hash of an unhashable
// type), on a map with keys and on an empty one.
func unhashable() (n int) {
	for _, m := range []map[interface{}]int{mif, eif} {
		func() {
			defer func() { _ = recover() }()
			n++
			m[[]int{1}] = 1
		}()
		func() {
			defer func() { _ = recover() }()
			n++
			delete(m, []int{1})
		}()
	}
	return n
}

// nilAssign panics in mapassign on a nil map, recovered.
func nilAssign() int {
	defer func() { _ = recover() }()
	mnil["x"] = 1
	return 1
}

func worker(id int) int {
	ops := 0
	for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
		ops += op(id, i)
	}
	return ops
}

// slowKey hashes slowly: each of its strings is hashed, a long one.
type slowKey [1 << 16]string

var (
	slowMu sync.Mutex
	mslow  = map[slowKey]int{}
)

// slowWriter writes key under slowMu until stop (-slow).
func slowWriter(key *slowKey) int {
	ops := 0
	for i := 0; atomic.LoadInt32(&stop) == 0; i++ {
		slowMu.Lock()
		mslow[*key] = i
		slowMu.Unlock()
		ops++
	}
	return ops
}

func startWorkers(workers int, ready, done *sync.WaitGroup, start chan struct{}, total *int64) {
	for i := 0; i < workers; i++ {
		go func(id int) {
			defer done.Done()
			fx.Say("worker %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			atomic.AddInt64(total, int64(worker(id)))
		}(i)
	}
}

func main() {
	workers := flag.Int("workers", 8, "worker goroutines")
	seconds := flag.Float64("seconds", 5, "how long to run, after -sleep")
	sleep := flag.Duration("sleep", 0, "pause after the worker lines, before the map operations")
	slow := flag.Bool("slow", false, "two more writers, of a key slow to hash (see above)")
	flag.Parse()
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
		nodes[i] = &node{i}
	}
	for i := 0; i < nkeys; i++ {
		mrd[uint64(i)] = i
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
	startWorkers(*workers, &ready, &done, start, &total)
	if *slow {
		key, s := new(slowKey), strings.Repeat("s", 64<<10)
		for i := range key {
			key[i] = s
		}
		done.Add(2)
		for i := 0; i < 2; i++ {
			go func() {
				defer done.Done()
				<-start
				atomic.AddInt64(&total, int64(slowWriter(key)))
			}()
		}
	}
	ready.Wait()
	time.Sleep(*sleep)
	total += int64(stackMaps(2000))
	close(start)
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	done.Wait()
	fx.Say("ok writes=%d", total)
}
