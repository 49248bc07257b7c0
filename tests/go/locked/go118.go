//go:build go1.18

package main

// Map operations on type parameters go through the generic runtime
// functions whatever the key kind.
func put[K comparable, V any](m map[K]V, k K, v V) { m[k] = v }

func get[K comparable, V any](m map[K]V, k K) V { return m[k] }

func del[K comparable, V any](m map[K]V, k K) { delete(m, k) }

var (
	g64  = map[uint64]int{}
	gstr = map[string]pair{}
)

func generic(k, i int) int {
	put(g64, uint64(k), i)
	put(gstr, keys[k], pair{k, i})
	_ = get(g64, uint64(k+1))
	del(g64, uint64((k+nkeys/2)%nkeys))
	del(gstr, keys[(k+nkeys/2)%nkeys])
	return 5
}
