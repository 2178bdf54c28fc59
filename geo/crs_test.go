package geo

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"
)

// The published example of the widely used coordtransform library: the point
// (116.404, 39.915) taken as WGS-84, and as GCJ-02.
func TestPublishedPairs(t *testing.T) {
	tests := []struct {
		name string
		got  orb.Point
		want orb.Point
	}{
		{"wgs84 to gcj02", WGS84ToGCJ02(orb.Point{116.404, 39.915}), orb.Point{116.41024449916938, 39.91640428150164}},
		{"gcj02 to bd09", GCJ02ToBD09(orb.Point{116.404, 39.915}), orb.Point{116.41036949371029, 39.92133699351021}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := DistanceM(tt.got, tt.want); d > 0.001 {
				t.Errorf("got %v, want %v (%.4f m apart)", tt.got, tt.want, d)
			}
		})
	}
}

// Round trips at points across China must close within 0.5 m (in practice
// within millimetres).
func TestRoundTripsAcrossChina(t *testing.T) {
	seed := int64(20261122)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	worst := map[CRS]float64{}
	for i := 0; i < 20000; i++ {
		p := orb.Point{73.5 + rng.Float64()*(135-73.5), 18 + rng.Float64()*(53.5-18)}
		for _, c := range []CRS{GCJ02, BD09} {
			q := ToWGS84(FromWGS84(p, c), c)
			d := DistanceM(p, q)
			worst[c] = math.Max(worst[c], d)
			if d > 0.5 {
				t.Fatalf("%s round trip at %v came back at %v, %.3f m off", c, p, q, d)
			}
		}
	}
	t.Logf("worst round-trip error: gcj02 %.6f m, bd09 %.6f m", worst[GCJ02], worst[BD09])
	// The offset itself is real: in Beijing GCJ-02 lies hundreds of metres off.
	if d := DistanceM(orb.Point{116.404, 39.915}, WGS84ToGCJ02(orb.Point{116.404, 39.915})); d < 100 || d > 1000 {
		t.Errorf("gcj02 offset in Beijing is %.1f m, want 100-1000 m", d)
	}
}

// GCJ02ToWGS84 stops its fixed-point iteration after a step under 1e-10°;
// across China it must still land within 1e-12° (about 0.1 µm) of the
// iteration run to its limit.
func TestGCJ02InverseConverged(t *testing.T) {
	rng := rand.New(rand.NewSource(20261122))
	limit := func(p orb.Point) (orb.Point, int) { // iterate until a step moves nothing
		w := p
		for n := 1; n <= 30; n++ {
			g := WGS84ToGCJ02(w)
			dx, dy := p[0]-g[0], p[1]-g[1]
			w = orb.Point{w[0] + dx, w[1] + dy}
			if dx == 0 && dy == 0 {
				return w, n
			}
		}
		return w, 30
	}
	worst, steps := 0.0, 0
	const n = 200_000
	for i := 0; i < n; i++ {
		p := WGS84ToGCJ02(orb.Point{73 + rng.Float64()*62, 18 + rng.Float64()*35})
		want, k := limit(p)
		steps += k
		got := GCJ02ToWGS84(p)
		worst = math.Max(worst, math.Max(math.Abs(got[0]-want[0]), math.Abs(got[1]-want[1])))
	}
	t.Logf("worst distance from the limit %.3g° over %d points; the limit takes %.2f steps on average", worst, n, float64(steps)/n)
	if worst > 1e-12 {
		t.Errorf("GCJ02ToWGS84 lands %.3g° from the converged inverse, want within 1e-12°", worst)
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	p := orb.Point{2.35, 48.85} // Paris
	if q := WGS84ToGCJ02(p); q != p {
		t.Errorf("gcj02 moved a point outside China: %v", q)
	}
}

func TestParseCRS(t *testing.T) {
	for _, s := range []string{"", "wgs84", "GCJ02", "bd09", "cgcs2000", "EPSG:4326"} {
		if _, err := ParseCRS(s); err != nil {
			t.Errorf("ParseCRS(%q): %v", s, err)
		}
	}
	if _, err := ParseCRS("mercator"); err == nil {
		t.Error("ParseCRS(mercator) accepted")
	}
}

func ExampleToWGS84() {
	// A phone in Beijing reports a GCJ-02 position.
	w := ToWGS84(orb.Point{116.41024449916938, 39.91640428150164}, GCJ02)
	fmt.Printf("%.6f %.6f\n", w[0], w[1])
	// Output: 116.404000 39.915000
}

func TestGeometryToWGS84(t *testing.T) {
	want := orb.Polygon{{{116.40, 39.90}, {116.41, 39.90}, {116.41, 39.91}, {116.40, 39.90}}}
	for _, c := range []CRS{GCJ02, BD09} {
		g := orb.Polygon{make(orb.Ring, len(want[0]))}
		for i, p := range want[0] {
			g[0][i] = FromWGS84(p, c)
		}
		got := GeometryToWGS84(g, c).(orb.Polygon)
		for i, p := range got[0] {
			if d := DistanceM(p, want[0][i]); d > 0.001 {
				t.Errorf("%s vertex %d came back %.4f m off", c, i, d)
			}
		}
	}
	pt := GeometryToWGS84(FromWGS84(orb.Point{116.4, 39.9}, GCJ02), GCJ02).(orb.Point)
	if d := DistanceM(pt, orb.Point{116.4, 39.9}); d > 0.001 {
		t.Errorf("point came back %.4f m off", d)
	}
	if g := GeometryToWGS84(orb.Point{116.4, 39.9}, CGCS2000); g != (orb.Point{116.4, 39.9}) {
		t.Errorf("cgcs2000 moved a point: %v", g)
	}
}

// gcjOffset, the inverse's fast forward series, against the published
// transform across China.
func TestGCJOffsetMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	worst := 0.0
	for i := 0; i < 500_000; i++ {
		p := orb.Point{73 + rng.Float64()*62, 18 + rng.Float64()*35}
		g := WGS84ToGCJ02(p)
		// The trigonometry moved from a point up to 0.01° away, as the
		// inverse carries it.
		q := orb.Point{p[0] + (rng.Float64()-0.5)*0.02, p[1] + (rng.Float64()-0.5)*0.02}
		ox, oy := gcjOffset(p[0], p[1], newGCJTrig(q[0], q[1]).moved(p[0]-q[0], p[1]-q[1]))
		worst = math.Max(worst, math.Max(math.Abs(p[0]+ox-g[0]), math.Abs(p[1]+oy-g[1])))
	}
	t.Logf("worst difference %.3g°", worst)
	if worst > 1e-13 {
		t.Errorf("gcjOffset differs from WGS84ToGCJ02 by %.3g°, want under 1e-13°", worst)
	}
}

// BenchmarkGCJ02ToWGS84: the inverse on points across a city.
func BenchmarkGCJ02ToWGS84(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	pts := make([]orb.Point, 4096)
	for i := range pts {
		pts[i] = WGS84ToGCJ02(orb.Point{116 + rng.Float64()*0.9, 39.5 + rng.Float64()*0.9})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		GCJ02ToWGS84(pts[i&4095])
	}
}

// publishedGCJ02ToBD09 is Baidu's forward transform as published (atan2,
// then the cosine and sine of the turned angle).
func publishedGCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// GCJ02ToBD09 turns (x, y) by the small angle directly instead of through
// atan2, cos and sin: across China it must give the published form's point
// within a few ulps (1e-13°; an ulp of 135° is 2.8e-14°).
func TestBD09MatchesPublishedForm(t *testing.T) {
	rng := rand.New(rand.NewSource(20261205))
	worst := 0.0
	for i := 0; i < 200_000; i++ {
		p := orb.Point{73 + rng.Float64()*62, 18 + rng.Float64()*35}
		got, want := GCJ02ToBD09(p), publishedGCJ02ToBD09(p)
		worst = math.Max(worst, math.Max(math.Abs(got[0]-want[0]), math.Abs(got[1]-want[1])))
	}
	t.Logf("worst difference from the published form %.3g°", worst)
	if worst > 1e-13 {
		t.Errorf("GCJ02ToBD09 differs from the published form by %.3g°, want within 1e-13°", worst)
	}
}

// BD09ToGCJ02 stops its iteration after a step under 1e-11°; across China it
// must land within 1e-12° (0.1 µm, as the GCJ-02 inverse) of the iteration
// on the published forward form run until a step moves nothing.
func TestBD09InverseConverged(t *testing.T) {
	rng := rand.New(rand.NewSource(20261205))
	limit := func(p orb.Point) orb.Point {
		g := orb.Point{p[0] - 0.0065, p[1] - 0.006}
		for n := 0; n < 50; n++ {
			b := publishedGCJ02ToBD09(g)
			dx, dy := p[0]-b[0], p[1]-b[1]
			g = orb.Point{g[0] + dx, g[1] + dy}
			if dx == 0 && dy == 0 {
				break
			}
		}
		return g
	}
	worst := 0.0
	for i := 0; i < 200_000; i++ {
		p := publishedGCJ02ToBD09(orb.Point{73 + rng.Float64()*62, 18 + rng.Float64()*35})
		got, want := BD09ToGCJ02(p), limit(p)
		worst = math.Max(worst, math.Max(math.Abs(got[0]-want[0]), math.Abs(got[1]-want[1])))
	}
	t.Logf("worst distance from the limit %.3g°", worst)
	if worst > 1e-12 {
		t.Errorf("BD09ToGCJ02 lands %.3g° from the converged inverse, want within 1e-12°", worst)
	}
}

// BenchmarkBD09ToWGS84: the inverse on points across a city.
func BenchmarkBD09ToWGS84(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	pts := make([]orb.Point, 4096)
	for i := range pts {
		pts[i] = FromWGS84(orb.Point{116 + rng.Float64()*0.9, 39.5 + rng.Float64()*0.9}, BD09)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ToWGS84(pts[i&4095], BD09)
	}
}
