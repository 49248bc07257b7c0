// Command inlinetab prints, for call sites inside inlined code, what
// runtime.Callers and runtime.CallersFrames make of the stack: the truth
// gobin__frames is checked against (tests/unit/test_inline.c).
//
//	entry main.main <hex>                 run-time entry (PIE: the load bias)
//	site <name>                           a stack follows
//	pc <hex> func <name> file <path> line <n>
//
// One "pc" line per frame: the return address Callers gave for the first
// frame of that physical frame, repeated for the frames inlined there. The
// helpers are small so that the compiler inlines them several deep.
package main

import (
	"fmt"
	"os"
	"runtime"
)

var sink int

// record prints its caller's stack. Never inlined: its return address is
// the PC whose inlined frames are looked at.
//
//go:noinline
func record(site string) int {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	pcs = pcs[:n]
	fmt.Printf("site %s\n", site)
	frames := runtime.CallersFrames(pcs)
	first, k := 0, 0
	for {
		fr, more := frames.Next()
		fmt.Printf("pc %#x func %s file %s line %d\n", pcs[first], fr.Function, fr.File, fr.Line)
		k++
		// A physical frame ends at its own function (Func set): its
		// inlined frames have none. An elided wrapper leaves inlined
		// frames without one: the next frame's entry tells.
		if fr.Func != nil || (more && nextEntry(pcs, k) != fr.Entry) {
			first = k
		}
		if !more || k >= len(pcs) {
			break
		}
	}
	return n
}

// nextEntry is the run-time entry of the function holding pcs[k].
func nextEntry(pcs []uintptr, k int) uintptr {
	if k >= len(pcs) {
		return 0
	}
	f := runtime.FuncForPC(pcs[k] - 1)
	if f == nil {
		return 0
	}
	return f.Entry()
}

// Three deep, plain functions.
func leaf(x int) int { return record("deep") + x }
func mid(x int) int  { return leaf(x+1) * 2 }
func top(x int) int  { return mid(x) + 3 }

// Methods, on a pointer and on a value.
type counter struct{ n int }

func (c *counter) bump() int  { return record("method") + c.n }
func (c *counter) twice() int { return c.bump() + c.bump() }
func (c counter) peek() int   { return record("value-method") + c.n }

// Called through an interface, a value method runs in the compiler's
// (*T).M wrapper, which has T.M inlined.
type getter interface{ get() int }

type box struct{ v int }

func (b box) get() int { return record("wrapper") + b.v }

//go:noinline
func viaInterface(g getter) int { return g.get() }

// Closures, called directly and inlined.
func closures(x int) int {
	add := func(y int) int { return record("closure") + y }
	twice := func(y int) int { return add(y) + add(y+1) }
	return twice(x)
}

// A call in a function inlined into a deferred closure.
func deferred() (r int) {
	defer func() { r = leafDeferred(r) }()
	return 1
}

func leafDeferred(x int) int { return record("deferred") + x }

func main() {
	fmt.Printf("entry main.main %#x\n", runtime.FuncForPC(mainPC()).Entry())
	sink += top(1)
	c := &counter{n: 2}
	sink += c.twice()
	sink += counter{n: 3}.peek()
	sink += viaInterface(box{v: 4})
	sink += viaInterface(&box{v: 5})
	sink += closures(6)
	sink += deferred()
	sink += generic(7)
	if sink == 0 {
		os.Exit(1)
	}
}

// mainPC is a PC inside main.main: its caller's return address.
//
//go:noinline
func mainPC() uintptr {
	pcs := make([]uintptr, 1)
	runtime.Callers(2, pcs)
	return pcs[0] - 1
}
