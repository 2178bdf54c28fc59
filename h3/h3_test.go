package h3

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKnownCells is a smoke check that needs no oracle: a handful of cells
// whose indexes are documented (the first in h3-js's README; the others as
// h3-js 4.5.0 gives them) and the 12 resolution 0 pentagons.
func TestKnownCells(t *testing.T) {
	for _, k := range []struct {
		lat, lng float64
		res      int
		want     string
	}{
		{37.3615593, -122.0553238, 7, "87283472bffffff"}, // h3-js README
		{90, 0, 0, "8001fffffffffff"},                    // north pole
		{-90, 0, 0, "80f3fffffffffff"},                   // south pole
		{0, 180, 3, "837eb5fffffffff"},                   // antimeridian
		{0, -180, 3, "837eb5fffffffff"},
		{-33.8688, 151.2093, 15, "8fbe0e35cbad0a8"},
	} {
		c, err := LatLngToCell(k.lat, k.lng, k.res)
		if err != nil || c.String() != k.want {
			t.Errorf("LatLngToCell(%v, %v, %d) = %s, %v; want %s", k.lat, k.lng, k.res, c, err, k.want)
		}
	}

	pentagons := map[string]bool{}
	for _, s := range []string{
		"8009fffffffffff", "801dfffffffffff", "8031fffffffffff", "804dfffffffffff",
		"8063fffffffffff", "8075fffffffffff", "807ffffffffffff", "8091fffffffffff",
		"80a7fffffffffff", "80c3fffffffffff", "80d7fffffffffff", "80ebfffffffffff",
	} {
		pentagons[s] = true
	}
	for b := range numBaseCells {
		c := cellInit | cellMode<<modeOffset | Cell(b)<<baseCellOffset
		if !c.IsValid() || c.IsPentagon() != pentagons[c.String()] {
			t.Errorf("base cell %d (%s): valid %v, pentagon %v", b, c, c.IsValid(), c.IsPentagon())
		}
		if n := len(c.Boundary()); n != 6 && !c.IsPentagon() || n != 5 && c.IsPentagon() {
			t.Errorf("base cell %d (%s) has %d vertices", b, c, n)
		}
	}
	// a Class III pentagon: each edge crosses an icosahedron edge
	if c, _ := ParseCell("81083ffffffffff"); !c.IsPentagon() || len(c.Boundary()) != 10 {
		t.Errorf("81083ffffffffff: pentagon %v, %d vertices", c.IsPentagon(), len(c.Boundary()))
	}
}

func TestErrors(t *testing.T) {
	for _, res := range []int{-1, 16} {
		if _, err := LatLngToCell(0, 0, res); !errors.Is(err, ErrResolution) {
			t.Errorf("LatLngToCell at res %d: %v", res, err)
		}
	}
	for _, p := range [][2]float64{{math.NaN(), 0}, {0, math.Inf(1)}, {math.Inf(-1), 0}} {
		if _, err := LatLngToCell(p[0], p[1], 5); !errors.Is(err, ErrLatLng) {
			t.Errorf("LatLngToCell(%v, %v): %v", p[0], p[1], err)
		}
	}

	c, _ := LatLngToCell(48.8566, 2.3522, 9)
	for _, res := range []int{-1, 10, 16} {
		if _, err := c.Parent(res); !errors.Is(err, ErrResolution) {
			t.Errorf("Parent(%d): %v", res, err)
		}
	}
	if p, err := c.Parent(9); p != c || err != nil {
		t.Errorf("Parent(own resolution) = %s, %v", p, err)
	}
	if _, err := Cell(0).Parent(0); !errors.Is(err, ErrInvalidCell) {
		t.Errorf("Parent of the zero cell: %v", err)
	}

	for _, s := range []string{"", "xyz", "0", "ffffffffffffffff", "0x8928308280fffff", "+8928308280fffff", "8928308280ffff7"} {
		if _, err := ParseCell(s); !errors.Is(err, ErrInvalidCell) {
			t.Errorf("ParseCell(%q): %v", s, err)
		}
	}
	if p, err := ParseCell("8928308280FFFFF"); err != nil || p.String() != "8928308280fffff" {
		t.Errorf("ParseCell of upper case: %s, %v", p, err)
	}

	if lat, lng := Cell(0).Center(); !math.IsNaN(lat) || !math.IsNaN(lng) {
		t.Errorf("Center of the zero cell: %v, %v", lat, lng)
	}
	if b := Cell(0).Boundary(); b != nil {
		t.Errorf("Boundary of the zero cell: %v", b)
	}
}

// TestHierarchy checks, without the oracle, that the parents of cells are
// valid, that each cell's centre maps back to the cell, and that boundaries
// have 5 to 10 vertices.
func TestHierarchy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
		lng := 360*rng.Float64() - 180
		c, err := LatLngToCell(lat, lng, MaxResolution)
		if err != nil {
			t.Fatal(err)
		}
		for res := range MaxResolution + 1 {
			p, err := c.Parent(res)
			if err != nil || !p.IsValid() || p.Resolution() != res {
				t.Fatalf("%s.Parent(%d) = %s, %v", c, res, p, err)
			}
			clat, clng := p.Center()
			if back, _ := LatLngToCell(clat, clng, res); back != p {
				t.Errorf("centre of %s is in %s", p, back)
			}
			if n := len(p.Boundary()); n < 5 || n > 10 {
				t.Errorf("%s has %d vertices", p, n)
			}
		}
	}
}

var sink float64

func BenchmarkLatLngToCell(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{math.Asin(2*rng.Float64()-1) * 180 / math.Pi, 360*rng.Float64() - 180}
	}
	b.ResetTimer()
	for i := range b.N {
		p := pts[i%len(pts)]
		c, _ := LatLngToCell(p[0], p[1], 9)
		sink += float64(c & 1)
	}
}

func BenchmarkBoundary(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	cells := make([]Cell, 1024)
	for i := range cells {
		cells[i], _ = LatLngToCell(math.Asin(2*rng.Float64()-1)*180/math.Pi, 360*rng.Float64()-180, 9)
	}
	b.ResetTimer()
	for i := range b.N {
		sink += cells[i%len(cells)].Boundary()[0][0]
	}
}
