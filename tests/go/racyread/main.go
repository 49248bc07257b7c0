// racyread reads a map in several goroutines while another writes it,
// without a lock: a read/write race, the runtime's "concurrent map read and
// map write". gomapwatch sees it with --reads.
//
// Output (stdout): "pid <PID>", then "writer goid <G>" and "reader <i> goid <G>".
package main

import (
	"flag"
	"sync"

	"gomapwatch/fixtures/internal/fx"
	"os"
)

var shared = map[uint64]int{}

var sink int

//go:noinline
func reader() {
	for i := 0; ; i++ {
		sink += shared[uint64(i%512)]
	}
}

//go:noinline
func ranger() {
	for {
		for k, v := range shared {
			sink += int(k) + v
		}
	}
}

func writer() {
	for i := 0; ; i++ {
		shared[uint64(i%512)] = i
	}
}

func main() {
	iter := flag.Bool("iter", false, "the readers range over the map")
	flag.Parse()
	fx.Say("pid %d", os.Getpid())
	var ready sync.WaitGroup
	start := make(chan struct{})
	ready.Add(3)
	go func() {
		fx.Say("writer goid %d", fx.Goid())
		ready.Done()
		<-start
		writer()
	}()
	for i := 0; i < 2; i++ {
		go func(id int) {
			fx.Say("reader %d goid %d", id, fx.Goid())
			ready.Done()
			<-start
			if *iter {
				ranger()
			}
			reader()
		}(i)
	}
	ready.Wait()
	close(start)
	select {}
}
