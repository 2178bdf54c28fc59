// Package synth generates synthetic unit-grid partitions for tests and the
// benchmark: jittered lattices whose neighbours share every vertex exactly,
// with mid-edge vertices and occasional holes filled by an inner grid, the
// way a noded grid builder's output looks. It is deterministic for a seed.
package synth

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/paulmach/orb"

	"gridd/geo"
)

// Lattice describes a jittered lattice partition.
type Lattice struct {
	Origin orb.Point // south-west corner, WGS-84
	NX, NY int       // cells east-west and north-south
	Cell   float64   // cell size in degrees
	Jitter float64   // vertex jitter as a fraction of Cell (keep ≤ 0.2)
	// HoleEvery: every n-th cell gets a hole filled by an inner grid (0: none).
	HoleEvery int
	// District and Street prefix the codes (6 and 3 digits); communities
	// are numbered from 001 and hold up to PerCommunity grids.
	District, Street string
	PerCommunity     int
}

// Grids generates the partition. Codes are unique 15-digit unit-grid codes;
// the grid count is NX*NY plus one per hole.
func (l Lattice) Grids(seed int64) []geo.IndexGrid {
	rng := rand.New(rand.NewSource(seed))
	per := l.PerCommunity
	if per <= 0 || per > 999 {
		per = 999
	}
	jit := func(onEdge bool) float64 {
		if onEdge {
			return 0
		}
		return (rng.Float64()*2 - 1) * l.Jitter * l.Cell
	}
	// Lattice vertices and mid-edge vertices, shared by neighbours.
	vx := make([]orb.Point, (l.NX+1)*(l.NY+1))
	v := func(i, j int) *orb.Point { return &vx[j*(l.NX+1)+i] }
	for j := 0; j <= l.NY; j++ {
		for i := 0; i <= l.NX; i++ {
			ex, ey := i == 0 || i == l.NX, j == 0 || j == l.NY
			*v(i, j) = orb.Point{l.Origin[0] + float64(i)*l.Cell + jit(ex), l.Origin[1] + float64(j)*l.Cell + jit(ey)}
		}
	}
	// Horizontal edge (i,j)-(i+1,j) midpoints and vertical edge (i,j)-(i,j+1).
	hm := make([]orb.Point, l.NX*(l.NY+1))
	vm := make([]orb.Point, (l.NX+1)*l.NY)
	for j := 0; j <= l.NY; j++ {
		for i := 0; i < l.NX; i++ {
			a, b := *v(i, j), *v(i+1, j)
			d := 0.0
			if j > 0 && j < l.NY {
				d = jit(false) * 0.5
			}
			hm[j*l.NX+i] = orb.Point{(a[0] + b[0]) / 2, (a[1]+b[1])/2 + d}
		}
	}
	for j := 0; j < l.NY; j++ {
		for i := 0; i <= l.NX; i++ {
			a, b := *v(i, j), *v(i, j+1)
			d := 0.0
			if i > 0 && i < l.NX {
				d = jit(false) * 0.5
			}
			vm[j*(l.NX+1)+i] = orb.Point{(a[0]+b[0])/2 + d, (a[1] + b[1]) / 2}
		}
	}
	var out []geo.IndexGrid
	n := 0
	code := func() geo.Code {
		c := n / per
		seq := n%per + 1
		n++
		return geo.Code(fmt.Sprintf("%s%03d%03d%03d", l.District, atoi(l.Street)+c/999, c%999+1, seq))
	}
	k := 0
	for j := 0; j < l.NY; j++ {
		for i := 0; i < l.NX; i++ {
			ring := orb.Ring{
				*v(i, j), hm[j*l.NX+i], *v(i+1, j), vm[j*(l.NX+1)+i+1],
				*v(i+1, j+1), hm[(j+1)*l.NX+i], *v(i, j+1), vm[j*(l.NX+1)+i], *v(i, j),
			}
			poly := orb.Polygon{ring}
			k++
			if l.HoleEvery > 0 && k%l.HoleEvery == 0 {
				c := orb.Point{l.Origin[0] + (float64(i)+0.5)*l.Cell, l.Origin[1] + (float64(j)+0.5)*l.Cell}
				h := l.Cell * 0.15
				hole := orb.Ring{{c[0] - h, c[1] - h}, {c[0] - h, c[1] + h}, {c[0] + h, c[1] + h}, {c[0] + h, c[1] - h}, {c[0] - h, c[1] - h}}
				poly = append(poly, hole)
				inner := orb.Ring{{c[0] - h, c[1] - h}, {c[0] + h, c[1] - h}, {c[0] + h, c[1] + h}, {c[0] - h, c[1] + h}, {c[0] - h, c[1] - h}}
				out = append(out, geo.IndexGrid{Code: code(), Polygon: orb.Polygon{inner}, AreaM2: AreaM2(orb.Polygon{inner}), Version: 1})
			}
			out = append(out, geo.IndexGrid{Code: code(), Polygon: poly, AreaM2: AreaM2(poly), Version: 1})
		}
	}
	return out
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// AreaM2 is a polygon's area in square metres in a local equirectangular
// approximation (good enough for synthetic data).
func AreaM2(p orb.Polygon) float64 {
	if len(p) == 0 || len(p[0]) == 0 {
		return 0
	}
	lat := p[0][0][1] * math.Pi / 180
	kx, ky := 111320*math.Cos(lat), 110574.0
	a := 0.0
	for i, r := range p {
		s := 0.0
		for k := 0; k+1 < len(r); k++ {
			s += r[k][0]*r[k+1][1] - r[k+1][0]*r[k][1]
		}
		s = math.Abs(s) / 2 * kx * ky
		if i == 0 {
			a += s
		} else {
			a -= s
		}
	}
	return a
}
