// httpserver is a small net/http service whose handlers use maps the way
// services do: a session table under a mutex, a read-mostly config map
// under an RWMutex, per-request maps (headers, query, JSON). For
// bench/run.sh: its throughput plain and traced.
//
// With -racy-every D it also has a race that recurs, for bench/budget.sh:
// each request counts the user in a visits map under a lock, and a
// background goroutine, every D, writes that map without the lock, with a
// key so long that hashing it takes about a millisecond, during which
// requests' writes come and go. The runtime seldom notices; a tracer
// attached at that moment does.
//
// Output: "listening <addr>" once it accepts connections.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

type store struct {
	mu       sync.Mutex
	sessions map[string]int
	cfgMu    sync.RWMutex
	config   map[string]string
	racy     bool
	visitsMu sync.Mutex
	visits   map[string]int
}

func (s *store) handle(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	s.mu.Lock()
	s.sessions[user]++
	hits := s.sessions[user]
	if len(s.sessions) > 10000 {
		for k := range s.sessions {
			delete(s.sessions, k)
		}
	}
	s.mu.Unlock()
	if s.racy {
		s.count(user)
	}
	s.cfgMu.RLock()
	greeting := s.config["greeting"]
	s.cfgMu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"user": user, "hits": hits, "greeting": greeting,
	})
}

//go:noinline
func (s *store) count(user string) {
	s.visitsMu.Lock()
	s.visits[user]++
	s.visitsMu.Unlock()
}

// sweep is the racy code: it never takes visitsMu. The same 16 MiB key
// each time: finding it again compares pointers, not bytes.
//
//go:noinline
func (s *store) sweep(every time.Duration) {
	key := strings.Repeat("v", 16<<20)
	for {
		time.Sleep(every)
		s.visits[key]++
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	racyEvery := flag.Duration("racy-every", 0, "a race that recurs this often (see above); 0: none")
	flag.Parse()
	s := &store{sessions: map[string]int{}, config: map[string]string{"greeting": "hello"},
		racy: *racyEvery > 0, visits: map[string]int{}}
	for i := 0; i < 16; i++ {
		s.config["k"+strconv.Itoa(i)] = "v"
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	if s.racy {
		go s.sweep(*racyEvery)
	}
	http.HandleFunc("/", s.handle)
	_ = http.Serve(ln, nil)
}
