// racycgo is racy (main.go is a link to ../racy/main.go: same code, same
// output) with one call into C, so that it links with runtime/cgo and an
// external linker: the runtime's symbols become local and the Go text no
// longer starts at the .text section.
package main

// static int answer(void) { return 42; }
import "C"

func init() {
	if C.answer() != 42 {
		panic("racycgo: the C call failed")
	}
}
