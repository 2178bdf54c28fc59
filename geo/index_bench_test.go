package geo_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids/synth"
)

// BenchmarkOwner: random points over a jittered lattice of about 100k grids.
func BenchmarkOwner(b *testing.B) {
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: 320, NY: 320, Cell: 0.0009, Jitter: 0.2,
		HoleEvery: 97, District: "110101", Street: "001", PerCommunity: 999}
	ix, err := geo.NewIndex(geo.IndexInput{Grids: lat.Grids(1)})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	pts := make([]orb.Point, 1<<20)
	for i := range pts {
		pts[i] = orb.Point{116.0 + rng.Float64()*0.288, 39.5 + rng.Float64()*0.288}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Owner(pts[i&(1<<20-1)])
	}
}

// BenchmarkOwnersBatch: batches of 100,000 random points over a lattice of
// a million grids, one by one and through View.Owners.
func BenchmarkOwnersBatch(b *testing.B) {
	lat := synth.Lattice{Origin: orb.Point{116.0, 39.5}, NX: 1000, NY: 1000, Cell: 0.0009, Jitter: 0.2,
		District: "110101", Street: "001", PerCommunity: 999}
	ix, err := geo.NewIndex(geo.IndexInput{Grids: lat.Grids(1)})
	if err != nil {
		b.Fatal(err)
	}
	v := geo.NewView(ix)
	rng := rand.New(rand.NewSource(1))
	pts := make([]orb.Point, 100_000)
	for i := range pts {
		pts[i] = orb.Point{116.0 + rng.Float64()*0.9, 39.5 + rng.Float64()*0.9}
	}
	ids := make([]int32, len(pts))
	b.Run("one-by-one", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for k, p := range pts {
				id, _ := v.Owner(p)
				ids[k] = int32(id)
			}
		}
		b.ReportMetric(float64(b.N*len(pts))/b.Elapsed().Seconds(), "points/s")
	})
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("Owners-%d", w), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				v.Owners(pts, ids, w)
			}
			b.ReportMetric(float64(b.N*len(pts))/b.Elapsed().Seconds(), "points/s")
		})
	}
}
