package main

import (
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Planar (EPSG:4548) helpers.
type (
	pt   = orb.Point
	ring = orb.Ring
)

// districtOutline returns a closed, counter-clockwise, simple ring around
// center whose EPSG:4548 area is exactly area (m²).
//
// Real Dongcheng is taller than wide (about 5 km E-W by 10 km N-S, the old
// Dongcheng in the north and former Chongwen in the south). The outline is a
// rounded rectangle (superellipse) of that proportion whose radius is
// modulated by a few low harmonics and a little per-vertex jitter, so it looks
// like an administrative boundary rather than a shape from a textbook. The
// radius stays positive and smooth, so the ring is star-shaped around the
// centre and therefore simple.
func districtOutline(rng *rand.Rand, center pt, area float64) ring {
	const (
		n        = 120    // vertices
		halfEW   = 2400.0 // metres, before scaling to the target area
		halfNS   = 4800.0
		exponent = 3.0 // superellipse exponent: 2 is an ellipse, large is a box
	)
	type harmonic struct{ k, amp, phase float64 }
	var hs []harmonic
	for k := 2; k <= 9; k++ {
		hs = append(hs, harmonic{float64(k), 0.008 + 0.04*rng.Float64()/float64(k-1), 2 * math.Pi * rng.Float64()})
	}
	r := make(ring, 0, n+1)
	for i := 0; i < n; i++ {
		t := 2 * math.Pi * float64(i) / n
		c, s := math.Cos(t), math.Sin(t)
		rad := math.Pow(math.Pow(math.Abs(c/halfEW), exponent)+math.Pow(math.Abs(s/halfNS), exponent), -1/exponent)
		f := 1.0
		for _, h := range hs {
			f += h.amp * math.Cos(h.k*t+h.phase)
		}
		f += 0.008 * (rng.Float64() - 0.5)
		r = append(r, pt{rad * f * c, rad * f * s})
	}
	r = append(r, r[0])
	k := math.Sqrt(area / math.Abs(planar.Area(r)))
	for i := range r {
		r[i] = pt{center[0] + k*r[i][0], center[1] + k*r[i][1]}
	}
	return r
}
