package geo_test

import (
	"encoding/binary"
	"math/rand"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridd/geo"
	"gridd/grids/synth"
)

// builderInput is a jittered lattice with holes filled by inner grids,
// names for some divisions and management grids for some grids (several
// grids sharing one list, some grids in two).
func builderInput(seed int64) geo.IndexInput {
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 60, NY: 50, Cell: 0.0005, Jitter: 0.2,
		HoleEvery: 37, District: "110101", Street: "001", PerCommunity: 300}
	in := geo.IndexInput{Grids: lat.Grids(seed), Names: map[geo.Code]string{}, Mgmt: map[geo.Code][]geo.Named{}, MapVersion: 42}
	rng := rand.New(rand.NewSource(seed))
	for i, g := range in.Grids {
		in.Names[g.Code.At(geo.Community)] = "社区" + string(g.Code[9:12])
		in.Names[g.Code.At(geo.Street)] = "东华门街道"
		switch rng.Intn(4) {
		case 0:
			in.Mgmt[g.Code] = []geo.Named{{Code: "M" + string(rune('A'+i%5)), Name: "网格"}}
		case 1:
			in.Mgmt[g.Code] = []geo.Named{{Code: "MA", Name: "网格"}, {Code: "MZ", Name: "责任区"}}
		}
	}
	// Not in input order of codes: the builder must not depend on it.
	rng.Shuffle(len(in.Grids), func(i, j int) { in.Grids[i], in.Grids[j] = in.Grids[j], in.Grids[i] })
	return in
}

// Streaming the grids as WKB into an IndexBuilder, as the database loader
// does, gives exactly the index NewIndex builds from the same input, with
// or without size hints.
func TestBuilderWKBMatchesNewIndex(t *testing.T) {
	in := builderInput(3)
	want, err := geo.NewIndex(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, hint := range []bool{true, false} {
		grids, coords := 0, 0
		if hint {
			grids = len(in.Grids)
			for _, g := range in.Grids {
				pts := 0
				for _, r := range g.Polygon {
					pts += len(r)
				}
				coords += geo.CoordCount(len(g.Polygon), pts)
			}
		}
		b := geo.NewIndexBuilder(grids, coords, in.MapVersion)
		// Management grids before the grids, names after: the order of
		// the calls does not matter.
		for _, g := range in.Grids {
			for _, m := range in.Mgmt[g.Code] {
				b.AddMgmt(g.Code, m)
			}
		}
		buf := []byte("000000000000000")
		for i, g := range in.Grids {
			w, err := wkb.Marshal(g.Polygon, []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}[i%2])
			if err != nil {
				t.Fatal(err)
			}
			copy(buf, g.Code) // a reused buffer, as the driver's
			if err := b.AddWKB(buf, w, g.AreaM2, g.Version); err != nil {
				t.Fatal(err)
			}
		}
		for c, n := range in.Names {
			b.SetName(c, n)
		}
		got, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("hint %v: the streamed index differs from NewIndex's", hint)
		}
	}
}

// The index against a scan of every input polygon with PostGIS's covers
// rule written out again here: random points, lattice vertices and points
// interpolated onto edges, and the grids' descriptions.
func TestBuilderMatchesScan(t *testing.T) {
	in := builderInput(5)
	ix, err := geo.NewIndex(in)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	var pts []orb.Point
	for i := 0; i < 20_000; i++ {
		pts = append(pts, orb.Point{116.3995 + rng.Float64()*0.031, 39.8995 + rng.Float64()*0.026})
	}
	for i := 0; i < 3000; i++ {
		g := in.Grids[rng.Intn(len(in.Grids))]
		r := g.Polygon[rng.Intn(len(g.Polygon))]
		k := rng.Intn(len(r) - 1)
		if i%2 == 0 {
			pts = append(pts, r[k])
		} else {
			f := rng.Float64()
			pts = append(pts, orb.Point{r[k][0] + f*(r[k+1][0]-r[k][0]), r[k][1] + f*(r[k+1][1]-r[k][1])})
		}
	}
	for _, p := range pts {
		want := ""
		for _, g := range in.Grids {
			if scanCovers(g.Polygon, p) && (want == "" || string(g.Code) < want) {
				want = string(g.Code)
			}
		}
		got := ""
		if id, ok := ix.Owner(p); ok {
			got = string(ix.Code(id))
		}
		if got != want {
			t.Fatalf("Owner(%.17g, %.17g) = %q, scan says %q", p[0], p[1], got, want)
		}
	}
	byCode := map[geo.Code]geo.IndexGrid{}
	for _, g := range in.Grids {
		byCode[g.Code] = g
	}
	for id := 0; id < ix.Len(); id++ {
		info := ix.Info(id)
		g := byCode[info.Code]
		if info.AreaM2 != g.AreaM2 || info.Version != g.Version || info.Community.Name != in.Names[g.Code.At(geo.Community)] ||
			info.Street.Name != "东华门街道" || info.District.Code != "110101" || !reflect.DeepEqual(info.Mgmt, in.Mgmt[g.Code]) {
			t.Fatalf("Info(%d) = %+v for input %s (mgmt %v)", id, info, g.Code, in.Mgmt[g.Code])
		}
	}
}

// scanCovers is liblwgeom's point-in-polygon test (see Index): on a ring is
// covered, then inside the shell and outside every hole.
func scanCovers(poly orb.Polygon, p orb.Point) bool {
	for i, r := range poly {
		side := ringSide(r, p)
		if side == 0 {
			return true
		}
		if i == 0 && side < 0 || i > 0 && side > 0 {
			return false
		}
	}
	return true
}

func ringSide(r orb.Ring, p orb.Point) int {
	wn := 0
	for i := 0; i+1 < len(r); i++ {
		x1, y1, x2, y2 := r[i][0], r[i][1], r[i+1][0], r[i+1][1]
		if (p[1] > y1 && p[1] > y2) || (p[1] < y1 && p[1] < y2) || (x1 == x2 && y1 == y2) {
			continue
		}
		side := float64((x2-x1)*(p[1]-y1)) - float64((p[0]-x1)*(y2-y1))
		if side == 0 && !(p[0] > max(x1, x2) || p[0] < min(x1, x2)) {
			return 0
		}
		if y1 <= p[1] && p[1] < y2 && side > 0 {
			wn++
		} else if y2 <= p[1] && p[1] < y1 && side < 0 {
			wn--
		}
	}
	if wn == 0 {
		return -1
	}
	return 1
}

func TestBuilderRejects(t *testing.T) {
	sq := orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}
	w, _ := wkb.Marshal(sq)
	line, _ := wkb.Marshal(orb.LineString{{0, 0}, {1, 1}})
	for name, add := range map[string]func(b *geo.IndexBuilder) error{
		"short code":    func(b *geo.IndexBuilder) error { return b.AddWKB([]byte("110101001001"), w, 1, 1) },
		"letters":       func(b *geo.IndexBuilder) error { return b.AddWKB([]byte("11010100100100x"), w, 1, 1) },
		"not a polygon": func(b *geo.IndexBuilder) error { return b.AddWKB([]byte("110101001001001"), line, 1, 1) },
		"truncated":     func(b *geo.IndexBuilder) error { return b.AddWKB([]byte("110101001001001"), w[:len(w)-3], 1, 1) },
		"duplicate code": func(b *geo.IndexBuilder) error {
			b.AddWKB([]byte("110101001001001"), w, 1, 1)
			return b.AddWKB([]byte("110101001001001"), w, 1, 1)
		},
	} {
		b := geo.NewIndexBuilder(0, 0, 0)
		err := add(b)
		if err == nil {
			_, err = b.Build()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
