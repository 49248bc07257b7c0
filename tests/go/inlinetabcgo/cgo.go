// inlinetabcgo is inlinetab (the other files are links to ../inlinetab) with
// one call into C, so that it links with runtime/cgo and an external linker.
package main

// static int answer(void) { return 42; }
import "C"

func init() {
	if C.answer() != 42 {
		panic("inlinetabcgo: the C call failed")
	}
}
