//go:build !go1.21

package main

// clearMap empties m with the range-delete idiom, which is mapclear too.
func clearMap(m interface{}) int {
	switch m := m.(type) {
	case map[int]int:
		for k := range m {
			delete(m, k)
		}
	case map[uint64]int:
		for k := range m {
			delete(m, k)
		}
	case map[int]string:
		for k := range m {
			delete(m, k)
		}
	}
	return 1
}
