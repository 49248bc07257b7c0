// panics raises the panics gomapwatch reports: a nil-map assignment (a
// runtime error, recovered), an error value (recovered), then a string
// panic nobody recovers, which kills the program with exit status 2.
//
// Output (stdout): "pid <PID>", then "recovered: <value>" per recovered panic.
package main

import (
	"errors"
	"fmt"
	"os"
)

//go:noinline
func assignNil(m map[string]int) {
	m["a"] = 1
}

func try(f func()) {
	defer func() {
		fmt.Println("recovered:", recover())
	}()
	f()
}

func main() {
	fmt.Println("pid", os.Getpid())
	try(func() { assignNil(nil) })
	try(func() { panic(errors.New("an error value")) })
	panic("boom: nobody recovers this")
}
