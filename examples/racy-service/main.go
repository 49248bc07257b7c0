// racy-service is a small stand-in for a real service with a real bug: an
// in-memory session cache shared by request handlers, where one code path
// writes the cache without taking its lock.
//
// It serves fake requests (no network) for -duration, printing a status
// line every second. Sooner or later two handlers write the map at the same
// moment and the Go runtime kills the process with
// "fatal error: concurrent map writes", showing only one of the two stacks.
// gomapwatch shows both.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type request struct {
	op   string // "login", "view", "refresh" or "logout"
	user string
}

// sessionCache maps a user to the tick of their last activity.
type sessionCache struct {
	mu       sync.Mutex
	sessions map[string]int
}

func (c *sessionCache) Login(user string, now int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions[user] = now
}

func (c *sessionCache) Touch(user string, now int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions[user] = now
}

func (c *sessionCache) Logout(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, user)
}

// Refresh is called by the client every few seconds to keep a session
// alive. It is by far the most frequent call, and "it only bumps a
// timestamp", so it was written without the lock.
//
// That is the bug: a map write is never safe next to other writers, and
// Login, Touch and Logout write this map from other handlers at the same
// time. Refresh must take c.mu like the others do.
func (c *sessionCache) Refresh(user string, now int) {
	c.sessions[user] = now
}

func (c *sessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

type stats struct{ requests, refreshes int64 }

func handle(reqs <-chan request, cache *sessionCache, st *stats, wg *sync.WaitGroup) {
	defer wg.Done()
	for r := range reqs {
		now := int(time.Now().Unix())
		switch r.op {
		case "login":
			cache.Login(r.user, now)
		case "view":
			cache.Touch(r.user, now)
		case "refresh":
			cache.Refresh(r.user, now)
			atomic.AddInt64(&st.refreshes, 1)
		case "logout":
			cache.Logout(r.user)
		}
		atomic.AddInt64(&st.requests, 1)
		// Stands in for the rest of the request: a database call, say.
		time.Sleep(time.Duration(200+rand.Intn(600)) * time.Microsecond)
	}
}

const users = 500

func userName(i int) string { return fmt.Sprintf("user%03d", i) }

// generate sends fake requests until stop is closed, then closes reqs.
func generate(reqs chan<- request, stop <-chan struct{}) {
	defer close(reqs)
	ops := []string{"login", "view", "view", "view", "refresh", "logout"}
	for {
		r := request{ops[rand.Intn(len(ops))], userName(rand.Intn(users))}
		select {
		case reqs <- r:
		case <-stop:
			return
		}
	}
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long to serve")
	handlers := flag.Int("handlers", 4, "request handler goroutines")
	flag.Parse()

	// Sessions survive restarts (think: loaded from a snapshot).
	cache := &sessionCache{sessions: map[string]int{}}
	for i := 0; i < users; i++ {
		cache.Login(userName(i), int(time.Now().Unix()))
	}
	var st stats
	var wg sync.WaitGroup
	reqs := make(chan request, 64)
	stop := make(chan struct{})

	fmt.Printf("racy-service pid %d: %d handlers, serving for %v\n", os.Getpid(), *handlers, *duration)
	go generate(reqs, stop)
	for i := 0; i < *handlers; i++ {
		wg.Add(1)
		go handle(reqs, cache, &st, &wg)
	}

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(*duration)
serve:
	for elapsed := 1; ; elapsed++ {
		select {
		case <-tick.C:
			fmt.Printf("t=%ds requests=%d refreshes=%d sessions=%d\n", elapsed,
				atomic.LoadInt64(&st.requests), atomic.LoadInt64(&st.refreshes), cache.Len())
		case <-end:
			break serve
		}
	}
	close(stop)
	wg.Wait()
	fmt.Printf("stopped after %v: requests=%d sessions=%d\n", *duration,
		atomic.LoadInt64(&st.requests), cache.Len())
}
