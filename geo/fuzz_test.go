package geo

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// The fuzz targets here run over their seeds and the committed corpus
// (testdata/fuzz/<name>) in every go test; make fuzz explores further.

// fuzzLimits are the grid limits with the whole world as bounds, so that
// the fuzzer's coordinates reach the topology checks.
var fuzzLimits = PolygonLimits{MaxRings: GridPolygonLimits.MaxRings, MaxVertices: GridPolygonLimits.MaxVertices,
	MaxExtentDeg: 360, Bounds: orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}}

// FuzzGeoJSONPolygon decodes a GeoJSON geometry as the API does and
// validates its polygon: no panic; the sweep agrees with comparing every
// pair of edges; a valid polygon survives a GeoJSON round trip bit for bit,
// and stays valid with its rings started elsewhere and reversed.
func FuzzGeoJSONPolygon(f *testing.F) {
	for _, tc := range validateCases() {
		if b, err := json.Marshal(geojson.NewGeometry(tc.p)); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{"type":"Polygon","coordinates":[[[116.4,39.9],[116.41,39.9],[116.41,39.91],[116.4,39.9]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[116.4,39.9],[116.41,39.9],[116.41,39.91],[116.4,39.9]]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`,
		`{"type":"Polygon","coordinates":[]}`,
		`{"type":"Polygon","coordinates":[[]]}`,
		`{"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,1,5],[0,0,5]]]}`,
		`{"type":"Point","coordinates":[116.4,39.9]}`,
		`{"type":"GeometryCollection","geometries":[{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := geojson.UnmarshalGeometry(b)
		if err != nil {
			return
		}
		var p orb.Polygon
		switch v := g.Geometry().(type) {
		case orb.Polygon:
			p = v
		case orb.MultiPolygon:
			if len(v) != 1 {
				return
			}
			p = v[0]
		default:
			return
		}
		err = ValidatePolygon(p, fuzzLimits)
		var pe *PolygonError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("not a *PolygonError: %v", err)
		}
		if pe != nil && (pe.Ring >= len(p) || pe.Ring < -1) {
			t.Fatalf("%v names ring %d of %d", err, pe.Ring, len(p))
		}
		if want := fuzzReference(p); (err == nil) != want {
			t.Fatalf("ValidatePolygon: %v; comparing every pair of edges says valid=%v\n%s", err, want, b)
		}
		if err != nil {
			return
		}
		out, err := json.Marshal(geojson.NewGeometry(p))
		if err != nil {
			t.Fatalf("valid polygon does not encode: %v", err)
		}
		back, err := geojson.UnmarshalGeometry(out)
		if err != nil {
			t.Fatalf("%s does not decode: %v", out, err)
		}
		q, ok := back.Geometry().(orb.Polygon)
		if !ok || !samePolygon(p, q) {
			t.Fatalf("round trip changed the polygon:\n%v\n%v", p, back.Geometry())
		}
		if err := ValidatePolygon(turned(q), fuzzLimits); err != nil {
			t.Fatalf("valid polygon, rings rotated and reversed: %v\n%v", err, turned(q))
		}
	})
}

// FuzzPolygonLattice builds polygons from bytes on a 16 × 16 lattice,
// where shared vertices, touches and collinear edges are the rule: the
// sweep must agree with comparing every pair of edges, and the verdict must
// not depend on where rings start, their direction or the holes' order.
func FuzzPolygonLattice(f *testing.F) {
	f.Add([]byte{0, 3, 0x00, 0x0a, 0xaa})                                                 // a triangle
	f.Add([]byte{0, 4, 0x00, 0xaa, 0x0a, 0xa0})                                           // a bow-tie
	f.Add([]byte{1, 4, 0x00, 0x0f, 0xff, 0xf0, 4, 0x22, 0x26, 0x66, 0x62})                // a square with a hole
	f.Add([]byte{1, 4, 0x00, 0x0f, 0xff, 0xf0, 3, 0x00, 0x33, 0x03})                      // a hole touching the shell
	f.Add([]byte{2, 4, 0x00, 0x0f, 0xff, 0xf0, 3, 0x22, 0x44, 0x24, 3, 0x44, 0x66, 0x46}) // holes touching
	f.Add([]byte{1, 4, 0x00, 0x0f, 0xff, 0xf0, 3, 0x80, 0x08, 0x88})                      // a hole touching the shell twice
	f.Fuzz(func(t *testing.T, data []byte) {
		p := latticeFromBytes(data)
		if p == nil {
			return
		}
		err := ValidatePolygon(p, fuzzLimits)
		if want := fuzzReference(p); (err == nil) != want {
			t.Fatalf("ValidatePolygon: %v; comparing every pair of edges says valid=%v\n%v", err, want, p)
		}
		if err2 := ValidatePolygon(turned(p), fuzzLimits); (err == nil) != (err2 == nil) {
			t.Fatalf("%v: %v\nrotated, reversed and reordered %v: %v", p, err, turned(p), err2)
		}
	})
}

// latticeFromBytes reads data as: the number of holes (first byte, mod 4),
// then per ring a point count (3 + byte mod 10) and that many points, one
// byte each (x the low, y the high 4 bits). Rings are closed.
func latticeFromBytes(data []byte) orb.Polygon {
	if len(data) < 2 {
		return nil
	}
	nr := 1 + int(data[0]%4)
	i := 1
	var p orb.Polygon
	for range nr {
		if i >= len(data) {
			break
		}
		n := 3 + int(data[i]%10)
		i++
		if i+n > len(data) {
			break
		}
		r := make(orb.Ring, 0, n+1)
		for _, b := range data[i : i+n] {
			r = append(r, lp(float64(b&15), float64(b>>4)))
		}
		i += n
		p = append(p, append(r, r[0]))
	}
	return p
}

// fuzzReference is ValidatePolygon's verdict with the topology decided by
// comparing every pair of edges (naiveValid) instead of the sweep.
func fuzzReference(p orb.Polygon) bool {
	if len(p) == 0 || len(p) > fuzzLimits.MaxRings {
		return false
	}
	n := 0
	for _, r := range p {
		n += len(r)
	}
	if n > fuzzLimits.MaxVertices {
		return false
	}
	for _, r := range p {
		for _, pt := range r {
			if math.IsNaN(pt[0]) || math.IsInf(pt[0], 0) || math.IsNaN(pt[1]) || math.IsInf(pt[1], 0) ||
				math.Abs(pt[0]) > 180 || math.Abs(pt[1]) > 90 {
				return false
			}
		}
	}
	return naiveValid(p)
}

// turned is p with each ring started at another point and reversed, and
// the first and last holes swapped.
func turned(p orb.Polygon) orb.Polygon {
	q := p.Clone()
	for i, r := range q {
		if len(r) > 3 && r[0] == r[len(r)-1] {
			k := 1 + i%(len(r)-2)
			rot := append(append(orb.Ring{}, r[k:len(r)-1]...), r[:k]...)
			q[i] = reversed(append(rot, rot[0]))
		}
	}
	if len(q) > 2 {
		q[1], q[len(q)-1] = q[len(q)-1], q[1]
	}
	return q
}

func samePolygon(p, q orb.Polygon) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if len(p[i]) != len(q[i]) {
			return false
		}
		for j := range p[i] {
			for k := 0; k < 2; k++ {
				if math.Float64bits(p[i][j][k]) != math.Float64bits(q[i][j][k]) {
					return false
				}
			}
		}
	}
	return true
}

// FuzzParseCode: no panic; an accepted code has a level, only digits, the
// level's length, valid ancestors, and reads back as itself; ParseCodeAt
// agrees with ParseCode and Level; ParseLevel reads back its names.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"110101", "110101001", "110101001007", "110101001007003", "11010100100703",
		" 110101001007003\n", "110101000", "110101001007000", "11010100100700", "1101010", "11010A", "", "１１０１０１", "-110101"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(4))
	}
	f.Add("grid", uint8(1))
	f.Add("Community", uint8(3))
	f.Fuzz(func(t *testing.T, s string, lv uint8) {
		l := Level(lv % 6) // includes 0 and 5, which are no level
		c, err := ParseCode(s)
		ca, errAt := ParseCodeAt(s, l)
		if err != nil {
			if errAt == nil {
				t.Fatalf("ParseCodeAt(%q, %v) = %q but ParseCode refuses it: %v", s, l, ca, err)
			}
		} else {
			if c.Level() == 0 || len(c) != c.Level().CodeLen() || strings.Trim(string(c), "0123456789") != "" {
				t.Fatalf("ParseCode(%q) = %q, level %v", s, c, c.Level())
			}
			if c2, err := ParseCode(c.String()); err != nil || c2 != c {
				t.Fatalf("%q reads back as %q, %v", c, c2, err)
			}
			if (errAt == nil) != (c.Level() == l) || (errAt == nil && ca != c) {
				t.Fatalf("ParseCodeAt(%q, %v) = %q, %v; ParseCode gave %q (%v)", s, l, ca, errAt, c, c.Level())
			}
			for p := c.Parent(); p != ""; p = p.Parent() {
				if pc, err := ParseCode(p.String()); err != nil || pc != p || !strings.HasPrefix(string(c), string(p)) || p != c.At(p.Level()) {
					t.Fatalf("ancestor %q of %q: %v", p, c, err)
				}
			}
			if c.Level() == District && c.Parent() != "" {
				t.Fatalf("district %q has parent %q", c, c.Parent())
			}
		}
		if pl, err := ParseLevel(s); err == nil {
			if !strings.EqualFold(pl.String(), s) {
				t.Fatalf("ParseLevel(%q) = %v", s, pl)
			}
			if back, err := ParseLevel(pl.String()); err != nil || back != pl {
				t.Fatalf("level %v reads back as %v, %v", pl, back, err)
			}
		}
	})
}
