// httpserver is a small net/http service whose handlers use maps the way
// services do: a session table under a mutex, a read-mostly config map
// under an RWMutex, per-request maps (headers, query, JSON). For
// bench/run.sh: its throughput plain and traced.
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
	"sync"
)

type store struct {
	mu       sync.Mutex
	sessions map[string]int
	cfgMu    sync.RWMutex
	config   map[string]string
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
	s.cfgMu.RLock()
	greeting := s.config["greeting"]
	s.cfgMu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]interface{}{
		"user": user, "hits": hits, "greeting": greeting,
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	s := &store{sessions: map[string]int{}, config: map[string]string{"greeting": "hello"}}
	for i := 0; i < 16; i++ {
		s.config["k"+strconv.Itoa(i)] = "v"
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	http.HandleFunc("/", s.handle)
	_ = http.Serve(ln, nil)
}
