// httpload drives a server on loopback with keep-alive connections for a
// bounded time and prints the throughput: "requests <N> rps <R>".
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "http://127.0.0.1:PORT/ (loopback only)")
	conns := flag.Int("c", 8, "concurrent connections")
	seconds := flag.Float64("seconds", 3, "how long to send")
	flag.Parse()
	if !strings.HasPrefix(*url, "http://127.") && !strings.HasPrefix(*url, "http://localhost") {
		fmt.Fprintln(os.Stderr, "httpload: loopback URLs only")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var n, errs int64
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for c := 0; c < *conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				resp, err := client.Get(*url + "?user=u" + strconv.Itoa((c*7919+i)%5000))
				if err != nil {
					atomic.AddInt64(&errs, 1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				atomic.AddInt64(&n, 1)
			}
		}(c)
	}
	wg.Wait()
	fmt.Printf("requests %d errors %d rps %.0f\n", n, errs, float64(n)/(*seconds))
}
