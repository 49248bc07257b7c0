//go:build !go1.18

package main

// Go 1.17 has no type parameters.
func generic(x int) int { return x }
