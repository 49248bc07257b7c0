//go:build go1.21

package main

import "maps"

// clearMap empties m with the clear builtin.
func clearMap[K comparable, V any](m map[K]V) int {
	clear(m)
	return 1
}

// newer: generic map operations and maps.Clone of a shared map.
func newer(k, i int) int {
	c := maps.Clone(m64)
	c[int64(k)] = i
	return generic(k, i) + 2
}
