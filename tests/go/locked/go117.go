//go:build !go1.18

package main

func newer(k, i int) int { return 0 }
