package grids

import (
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"gridd/geo"
)

// demoCommunities reads the demo district's communities as grid shapes
// and its roads.
func demoCommunities(t *testing.T) ([]GridShape, []LineFeature) {
	t.Helper()
	data, err := os.ReadFile("../testdata/dongcheng/divisions.geojson")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(data)
	if err != nil {
		t.Fatal(err)
	}
	var shapes []GridShape
	for _, f := range fc.Features {
		code, _ := f.Properties["code"].(string)
		if len(code) != 12 {
			continue
		}
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			shapes = append(shapes, GridShape{Code: code + "001", Geom: g})
		case orb.MultiPolygon:
			for _, p := range g {
				shapes = append(shapes, GridShape{Code: code + "001", Geom: p})
			}
		}
	}
	data, err = os.ReadFile("../testdata/dongcheng/roads.geojson")
	if err != nil {
		t.Fatal(err)
	}
	roads, rejected, err := ParseLines(data, geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("roads: %v %v", rejected, err)
	}
	return shapes, roads
}

// The demo buildings over the demo district's 169 communities: the same
// for a seed, different for another; every footprint a closed,
// counter-clockwise rectangle inside its shape, outside every park and
// site, at least 2 m from every road line; counts of the right order
// (Dongcheng: about 700,000 residents), 2 to 4 residents a household, 2.5
// to 2.8 on average.
func TestDemoBuildings(t *testing.T) {
	shapes, roads := demoCommunities(t)
	if len(shapes) < 169 || len(roads) != 274 {
		t.Fatalf("%d shapes, %d roads", len(shapes), len(roads))
	}
	const seed = 110101
	a, b := DemoBuildings(shapes, roads, seed), DemoBuildings(shapes, roads, seed)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("not deterministic")
	}
	if c := DemoBuildings(shapes[:20], roads, seed+1); reflect.DeepEqual(a[:len(c)], c) {
		t.Error("another seed gives the same buildings")
	}
	mx := metresPerDegree * math.Cos(39.9*math.Pi/180)
	metres := func(p, q orb.Point) float64 {
		return math.Hypot((p[0]-q[0])*mx, (p[1]-q[1])*metresPerDegree)
	}
	var households, residents int
	names := map[string]bool{}
	for i, f := range a {
		if f.Index != i || f.Name == "" || f.Households < 1 || f.Residents < 2*f.Households || f.Residents > 4*f.Households {
			t.Fatalf("building %d: %+v", i, f)
		}
		names[f.Name] = true
		households += f.Households
		residents += f.Residents
		fp, ok := f.Geom.(orb.Polygon)
		if !ok || len(fp) != 1 || len(fp[0]) != 5 || fp[0][0] != fp[0][4] || planar.Area(fp) <= 0 {
			t.Fatalf("building %d %s: footprint %v", i, f.Name, f.Geom)
		}
		if ff := (BuildingFeature{Geom: f.Geom}); finishBuilding(&ff, geo.WGS84) != nil {
			t.Fatalf("building %d %s: refused", i, f.Name)
		}
		in := false
		for _, s := range shapes {
			if s.Geom.Bound().Contains(fp[0][0]) && containsAll(s.Geom, fp[0]) {
				in = true
				break
			}
		}
		if !in {
			t.Fatalf("building %d %s: not inside a shape", i, f.Name)
		}
		for _, s := range DemoNoBuildingSites {
			if s.Geom.Bound().Intersects(fp.Bound()) && hits(s.Geom, fp.Bound(), mx) {
				t.Fatalf("building %d %s: in %s", i, f.Name, s.Name)
			}
		}
		c := fp.Bound().Center()
		for _, l := range roads {
			for _, ls := range l.Geom {
				for j := 0; j+1 < len(ls); j++ {
					if metres(ls[j], c) > 300 && metres(ls[j+1], c) > 300 {
						continue
					}
					if d := rectSegMetres(fp.Bound(), ls[j], ls[j+1], mx); d < 2 {
						t.Fatalf("building %d %s: %.1f m from %s %s", i, f.Name, d, l.Class, l.Name)
					}
				}
			}
		}
	}
	t.Logf("%d buildings, %d households, %d residents (%.2f a household), %d names",
		len(a), households, residents, float64(residents)/float64(households), len(names))
	if r := float64(residents) / float64(households); r < 2.5 || r > 2.8 {
		t.Errorf("%.2f residents a household, want 2.5 to 2.8", r)
	}
	if residents < 400_000 || residents > 1_000_000 || len(a) < 5000 {
		t.Errorf("%d buildings, %d residents: want thousands of buildings and about 700,000 residents", len(a), residents)
	}
}

func containsAll(poly orb.Polygon, pts orb.Ring) bool {
	for _, p := range pts {
		if !planar.PolygonContains(poly, p) {
			return false
		}
	}
	return true
}

// rectSegMetres is the distance in metres between an axis-aligned
// rectangle and a segment, both in WGS-84, by sampling the segment every
// 0.25 m.
func rectSegMetres(b orb.Bound, p, q orb.Point, mx float64) float64 {
	l := math.Hypot((q[0]-p[0])*mx, (q[1]-p[1])*metresPerDegree)
	n := int(l/0.25) + 1
	best := math.Inf(1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x, y := p[0]+(q[0]-p[0])*t, p[1]+(q[1]-p[1])*t
		dx := math.Max(0, math.Max(b.Min[0]-x, x-b.Max[0])) * mx
		dy := math.Max(0, math.Max(b.Min[1]-y, y-b.Max[1])) * metresPerDegree
		best = math.Min(best, math.Hypot(dx, dy))
	}
	return best
}

// hits says whether the polygon and the rectangle meet: a point of a 1 m
// lattice over the rectangle in the polygon, or a vertex of the polygon in
// the rectangle.
func hits(poly orb.Polygon, b orb.Bound, mx float64) bool {
	for _, p := range poly[0] {
		if b.Contains(p) {
			return true
		}
	}
	nx := int((b.Max[0]-b.Min[0])*mx) + 1
	ny := int((b.Max[1]-b.Min[1])*metresPerDegree) + 1
	for i := 0; i <= nx; i++ {
		for j := 0; j <= ny; j++ {
			p := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i)/float64(nx), b.Min[1] + (b.Max[1]-b.Min[1])*float64(j)/float64(ny)}
			if planar.PolygonContains(poly, p) {
				return true
			}
		}
	}
	return false
}
