// lifecycle is a target whose process changes under a tracer: it execs,
// forks Go children, or exits at once. Between those it writes a shared
// map from a few goroutines under a lock (correct code: no conflict),
// or without one with -race.
//
// Output (stdout), one line each:
//
//	pid <PID>                 first line (children: "child pid <PID>")
//	exec <PATH>               just before -exec-after execs the command after --
//	children ok               every -spawn child exited with status 0
//	children failed <ERR>     one did not
//	racing                    -race: the unlocked writes start
//	ok writes=<N>             last line; exit 0
//
// -exec-after D: after D of locked writes, or at SIGUSR1 if sooner,
// syscall.Exec the command after -- (the same binary or another one), in
// place: the same PID.
// -spawn N: after -sleep, start N copies of this binary (os/exec) with
// -child and the -child-args, wait for them; then -race, if set.
package main

import (
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gomapwatch/fixtures/internal/fx"
)

var (
	mu sync.Mutex
	m  = map[int]int{}
)

// writes writes m from workers goroutines for d (or until stop is
// closed), under mu unless racy.
//
//go:noinline
func writes(workers int, d time.Duration, racy bool, stop chan os.Signal) int {
	var wg sync.WaitGroup
	var total int64
	var stopped int32
	end := time.Now().Add(d)
	go func() {
		<-stop
		atomic.StoreInt32(&stopped, 1)
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			n := 0
			for i := 0; time.Now().Before(end) && atomic.LoadInt32(&stopped) == 0; i++ {
				if racy {
					m[id*1024+i%1024] = i
				} else {
					mu.Lock()
					m[id*1024+i%1024] = i
					mu.Unlock()
				}
				n++
			}
			mu.Lock()
			total += int64(n)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	return int(total)
}

func spawn(n int, args []string) {
	self, err := os.Executable()
	if err != nil {
		fx.Say("children failed %v", err)
		return
	}
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = exec.Command(self, append([]string{"-child"}, args...)...)
		cmds[i].Stdout, cmds[i].Stderr = os.Stdout, os.Stderr
		if err := cmds[i].Start(); err != nil {
			fx.Say("children failed %v", err)
			return
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			fx.Say("children failed %v", err)
			return
		}
	}
	fx.Say("children ok")
}

func main() {
	seconds := flag.Duration("seconds", time.Second, "how long to write the map (after the rest)")
	sleep := flag.Duration("sleep", 0, "pause after the pid line, before anything else")
	execAfter := flag.Duration("exec-after", 0, "exec the command after -- after this long")
	nspawn := flag.Int("spawn", 0, "children to start (copies of this binary)")
	childArgs := flag.String("child-args", "", "the children's flags, space-separated")
	child := flag.Bool("child", false, "say \"child pid\"")
	race := flag.Bool("race", false, "write without the lock (the runtime may kill it)")
	flag.Parse()
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
	if *child {
		fx.Say("child pid %d", os.Getpid())
	} else {
		fx.Say("pid %d", os.Getpid())
	}
	time.Sleep(*sleep)
	if *execAfter > 0 && flag.NArg() > 0 {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		writes(4, *execAfter, false, usr1)
		fx.Say("exec %s", flag.Arg(0))
		err := syscall.Exec(flag.Arg(0), flag.Args(), os.Environ())
		fx.Say("exec failed: %v", err)
		os.Exit(1)
	}
	if *nspawn > 0 {
		spawn(*nspawn, strings.Fields(*childArgs))
	}
	if *race {
		fx.Say("racing")
	}
	fx.Say("ok writes=%d", writes(4, *seconds, *race, nil))
}
