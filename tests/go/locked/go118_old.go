//go:build go1.18 && !go1.21

package main

func newer(k, i int) int { return generic(k, i) }
