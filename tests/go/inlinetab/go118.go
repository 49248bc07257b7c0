//go:build go1.18

package main

// Generic functions and a generic method, inlined: the table names them by
// their shape ("main.gmap[go.shape.int]").
func gmap[T any](xs []T, f func(T) int) int {
	s := 0
	for _, x := range xs {
		s += f(x)
	}
	return s
}

func gleaf[T any](x T) int { return record("generic") }

type pair[K comparable, V any] struct {
	k K
	v V
}

func (p *pair[K, V]) key() int { return gleaf(p.k) }

func generic(x int) int {
	p := &pair[string, int]{k: "a", v: x}
	return gleaf(x) + gleaf("s") + p.key() + gmap([]int{x}, func(y int) int { return gleaf(y) })
}
