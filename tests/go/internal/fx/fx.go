// Package fx holds what the fixtures share: whole-line output and the
// calling goroutine's ID, printed so tests can match gomapwatch's reports.
package fx

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

var outMu sync.Mutex

// Say writes one whole line with a single write call (os.Stdout is
// unbuffered), so lines from different goroutines never mix.
func Say(format string, args ...interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// Goid parses the calling goroutine's ID from the "goroutine N [" header
// of its stack trace: the same ID the runtime keeps in g.goid.
func Goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	id, err := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
	if err != nil {
		panic("cannot parse goroutine id: " + err.Error())
	}
	return id
}
