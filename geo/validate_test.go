package geo

import (
	"errors"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// lattice points: integer steps of 1/1024° (about 100 m) from 116.4°E
// 39.9°N, exact in binary, so that collinear and touching cases are exact.
func lp(i, j float64) orb.Point { return orb.Point{116.4 + i/1024, 39.9 + j/1024} }

func ring(xy ...float64) orb.Ring {
	r := make(orb.Ring, 0, len(xy)/2)
	for i := 0; i+1 < len(xy); i += 2 {
		r = append(r, lp(xy[i], xy[i+1]))
	}
	return r
}

// sq is the closed ring of the axis-aligned square from (x, y), side s,
// counterclockwise.
func sq(x, y, s float64) orb.Ring {
	return ring(x, y, x+s, y, x+s, y+s, x, y+s, x, y)
}

func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

// ValidPolygonCases and InvalidPolygonCases are shared with the PostGIS
// cross-check (grids/postgis) through a copy of their shape: each is
// a polygon and the problem expected.
func validateCases() []struct {
	name string
	p    orb.Polygon
	want Problem // "" for valid
} {
	big := func(n int, bow bool) orb.Polygon {
		// A circle-ish ring of n points; bow swaps two far points so that
		// the ring crosses itself.
		r := make(orb.Ring, 0, n+1)
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * float64(i) / float64(n)
			r = append(r, orb.Point{116.4 + 0.004*math.Cos(a), 39.9 + 0.004*math.Sin(a)})
		}
		if bow {
			r[n/4], r[3*n/4] = r[3*n/4], r[n/4]
		}
		return orb.Polygon{append(r, r[0])}
	}
	return []struct {
		name string
		p    orb.Polygon
		want Problem
	}{
		{"square", orb.Polygon{sq(0, 0, 10)}, ""},
		{"clockwise square", orb.Polygon{reversed(sq(0, 0, 10))}, ""},
		{"repeated points", orb.Polygon{ring(0, 0, 10, 0, 10, 0, 10, 10, 0, 10, 0, 10, 0, 0)}, ""},
		{"collinear run", orb.Polygon{ring(0, 0, 5, 0, 10, 0, 10, 10, 0, 10, 0, 0)}, ""},
		{"hole", orb.Polygon{sq(0, 0, 10), reversed(sq(2, 2, 3))}, ""},
		{"hole same orientation", orb.Polygon{sq(0, 0, 10), sq(2, 2, 3)}, ""},
		{"hole touching shell at a vertex", orb.Polygon{sq(0, 0, 10), ring(0, 0, 3, 1, 1, 3, 0, 0)}, ""},
		{"hole touching shell inside an edge", orb.Polygon{sq(0, 0, 10), ring(5, 0, 6, 2, 4, 2, 5, 0)}, ""},
		{"two holes touching at a point", orb.Polygon{sq(0, 0, 10), sq(2, 2, 2), sq(4, 4, 2)}, ""},
		{"three holes meeting at one point", orb.Polygon{sq(0, 0, 10), ring(5, 5, 2, 4, 2, 6, 5, 5), ring(5, 5, 8, 4, 8, 6, 5, 5), ring(5, 5, 4, 8, 6, 8, 5, 5)}, ""},
		{"two holes touching the shell at one shared point", orb.Polygon{sq(0, 0, 10), ring(5, 0, 7, 2, 6, 2, 5, 0), ring(5, 0, 4, 2, 3, 2, 5, 0)}, ""},
		{"2,000-point circle", big(2000, false), ""},

		{"empty", orb.Polygon{}, Empty},
		{"empty ring", orb.Polygon{orb.Ring{}}, TooFewPoints},
		{"unclosed", orb.Polygon{ring(0, 0, 10, 0, 10, 10, 0, 10)}, NotClosed},
		{"three points", orb.Polygon{ring(0, 0, 10, 0, 0, 0)}, TooFewPoints},
		{"repeated points only", orb.Polygon{ring(0, 0, 10, 0, 10, 0, 0, 0)}, TooFewPoints},
		{"all one point", orb.Polygon{ring(1, 1, 1, 1, 1, 1, 1, 1)}, TooFewPoints},
		{"bow-tie", orb.Polygon{ring(0, 0, 10, 10, 10, 0, 0, 10, 0, 0)}, SelfIntersection},
		{"bow-tie at a vertex", orb.Polygon{ring(0, 0, 5, 5, 10, 0, 10, 10, 5, 5, 0, 10, 0, 0)}, RingSelfTouch},
		// The spike's edges overlap, and its ring touches itself where the
		// spike starts; PostGIS names the touch.
		{"spike", orb.Polygon{ring(0, 0, 10, 0, 10, 10, 15, 10, 10, 10, 0, 10, 0, 0)}, RingSelfTouch},
		{"flat ring", orb.Polygon{ring(0, 0, 5, 0, 10, 0, 0, 0)}, SelfIntersection},
		{"ring touching itself inside an edge", orb.Polygon{ring(0, 0, 10, 0, 10, 10, 5, 0, 0, 10, 0, 0)}, RingSelfTouch},
		{"hole outside shell", orb.Polygon{sq(0, 0, 10), sq(20, 20, 2)}, HoleOutside},
		{"hole outside touching shell", orb.Polygon{sq(0, 0, 10), sq(10, 2, 2)}, SelfIntersection},
		{"hole outside touching shell at a corner", orb.Polygon{sq(0, 0, 10), sq(10, 10, 2)}, HoleOutside},
		{"hole in the shell's notch", orb.Polygon{ring(0, 0, 10, 0, 10, 10, 6, 10, 6, 4, 4, 4, 4, 10, 0, 10, 0, 0), sq(4.5, 6, 1)}, HoleOutside},
		{"shell inside its hole", orb.Polygon{sq(2, 2, 3), sq(0, 0, 10)}, HoleOutside},
		{"nested holes", orb.Polygon{sq(0, 0, 10), sq(1, 1, 8), sq(3, 3, 2)}, NestedHoles},
		{"holes crossing", orb.Polygon{sq(0, 0, 10), sq(1, 1, 4), sq(3, 3, 4)}, SelfIntersection},
		{"hole crossing shell", orb.Polygon{sq(0, 0, 10), sq(8, 8, 4)}, SelfIntersection},
		{"hole sharing an edge with the shell", orb.Polygon{sq(0, 0, 10), sq(0, 0, 3)}, SelfIntersection},
		{"duplicate holes", orb.Polygon{sq(0, 0, 10), sq(2, 2, 2), sq(2, 2, 2)}, SelfIntersection},
		{"hole touching the shell twice", orb.Polygon{sq(0, 0, 10), ring(0, 5, 5, 0, 5, 5, 0, 5)}, Disconnected},
		{"chain of holes across the polygon", orb.Polygon{sq(0, 0, 10), ring(0, 5, 3, 4, 3, 6, 0, 5), ring(3, 5, 5, 4, 7, 5, 5, 6, 3, 5), ring(7, 5, 9, 4, 10, 5, 9, 6, 7, 5)}, Disconnected},
		{"cycle of holes", orb.Polygon{sq(0, 0, 10), ring(2, 2, 5, 2, 4, 3, 2, 2), ring(5, 2, 5, 5, 4.5, 3.5, 5, 2), ring(5, 5, 2, 2, 3.5, 4, 5, 5)}, Disconnected},
		{"2,000-point bow-tie", big(2000, true), SelfIntersection},
	}
}

func TestValidatePolygon(t *testing.T) {
	world := PolygonLimits{MaxRings: 100, MaxVertices: 5_000, MaxExtentDeg: 1, Bounds: ChinaBounds}
	for _, tc := range validateCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePolygon(tc.p, world)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid polygon refused: %v", err)
				}
				return
			}
			var pe *PolygonError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a %s error", err, tc.want)
			}
			if pe.Problem != tc.want {
				t.Fatalf("got %s (%v), want %s", pe.Problem, err, tc.want)
			}
			// Every problem names a place: a ring, or (for the polygon
			// as a whole) its size.
			if pe.Ring < 0 && tc.want != Empty {
				t.Errorf("%s names no ring: %v", tc.want, err)
			}
			// Rotating the rings' start points, reversing them or
			// reordering the holes does not change the verdict.
			q := turned(tc.p)
			var pe2 *PolygonError
			if err := ValidatePolygon(q, world); !errors.As(err, &pe2) || family(pe2.Problem) != family(pe.Problem) {
				t.Errorf("rotated and reversed: %v, want %s", err, tc.want)
			}
		})
	}
}

// family groups the problems one invalid polygon can be reported with,
// depending on which of its faults is found first: edges that cross or
// overlap often also touch; a hole in another one is also where the
// order of the holes decides which is "inside".
func family(p Problem) Problem {
	switch p {
	case RingSelfTouch:
		return SelfIntersection
	case HoleOutside:
		return NestedHoles
	}
	return p
}

func TestValidatePolygonMessages(t *testing.T) {
	l := GridPolygonLimits
	for _, tc := range []struct {
		p    orb.Polygon
		want []string
	}{
		{orb.Polygon{ring(0, 0, 10, 10, 10, 0, 0, 10, 0, 0)}, []string{"ring 0 crosses itself at 116.4048828, 39.9048828 (edges 0 and 2)"}},
		{orb.Polygon{ring(0, 0, 10, 0, 10, 10, 0, 10)}, []string{"ring 0 (the shell) is not closed", "116.4, 39.9", "116.4, 39.909765625"}},
		{orb.Polygon{sq(0, 0, 10), sq(20, 20, 2)}, []string{"hole 1 (ring 1) lies outside the shell, at 116.419531250, 39.919531250"[:40]}},
		{orb.Polygon{sq(0, 0, 10), ring(0, 0, 10, 0, 10, 10, 10, 0, 0, 0)}, []string{"rings 0 and 1 share an edge"}},
		{orb.Polygon{{{116.4, 39.9}, {116.5, 39.9}, {116.5, math.NaN()}, {116.4, 39.9}}}, []string{"ring 0 (the shell) point 2", "not a finite number"}},
		{orb.Polygon{{{116.4, 39.9}, {216.5, 39.9}, {116.5, 40}, {116.4, 39.9}}}, []string{"point 1 (216.5, 39.9)", "lon 73..136"}},
		{orb.Polygon{{{116.4, 39.9}, {116.6, 39.9}, {116.5, 39.91}, {116.4, 39.9}}}, []string{"spans 0.2° × 0.01°", "at most 0.1°"}},
	} {
		err := ValidatePolygon(tc.p, l)
		if err == nil {
			t.Errorf("%v accepted", tc.p)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}

// The 200,000-point redraw is refused on its size alone, without a
// look at its points (its self-intersections would take longer).
func TestValidatePolygonHugeRefusedFast(t *testing.T) {
	n := 200_000
	r := make(orb.Ring, 0, n+1)
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		r = append(r, orb.Point{116.4 + 0.01*rnd.Float64(), 39.9 + 0.01*rnd.Float64()})
	}
	r = append(r, r[0])
	start := time.Now()
	err := ValidatePolygon(orb.Polygon{r}, GridPolygonLimits)
	d := time.Since(start)
	var pe *PolygonError
	if !errors.As(err, &pe) || pe.Problem != TooManyVertices || !strings.Contains(err.Error(), "200001 points; at most 5000") {
		t.Fatalf("got %v", err)
	}
	t.Logf("refused 200,000 points on their count in %v", d)
	if err := ValidatePolygon(make(orb.Polygon, 101), GridPolygonLimits); err == nil || !strings.Contains(err.Error(), "101 rings") {
		t.Errorf("101 rings: %v", err)
	}
}

func TestValidateLineString(t *testing.T) {
	ok := orb.LineString{lp(0, 0), lp(5, 5), lp(0, 5)}
	if err := ValidateLineString(ok, GridPolygonLimits); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []orb.LineString{
		{lp(0, 0)},
		{lp(0, 0), {math.Inf(1), 39.9}},
		{lp(0, 0), {116.4, 99}},
		{lp(0, 0), {117, 39.9}},
		make(orb.LineString, GridPolygonLimits.MaxVertices+1),
	} {
		if err := ValidateLineString(bad, GridPolygonLimits); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// naiveValid is the same rules by brute force: every pair of edges, every
// pair of rings. The sweep in ValidatePolygon must agree with it.
func naiveValid(p orb.Polygon) bool {
	rings := make([]cring, len(p))
	for i, r := range p {
		if len(r) < 4 || r[0] != r[len(r)-1] {
			return false
		}
		rings[i] = compress(r)
		if len(rings[i].pts) < 4 {
			return false
		}
	}
	v := &validator{rings: rings}
	for i := range rings {
		for k := 0; k+1 < len(rings[i].pts); k++ {
			for j := i; j < len(rings); j++ {
				l0 := 0
				if j == i {
					l0 = k + 1
				}
				for l := l0; l+1 < len(rings[j].pts); l++ {
					if v.pair(&seg{ring: i, k: k}, &seg{ring: j, k: l}) != nil {
						return false
					}
				}
			}
		}
	}
	if len(rings) > 1 && (v.checkHoles() != nil || v.checkConnected() != nil) {
		return false
	}
	return true
}

// randomPolygon draws rings on a coarse lattice, so that shared vertices,
// touches and collinear edges are common.
func randomPolygon(rnd *rand.Rand) orb.Polygon {
	grid := float64(2 + rnd.Intn(12))
	nr := 1 + rnd.Intn(3)
	var p orb.Polygon
	for i := 0; i < nr; i++ {
		n := 3 + rnd.Intn(6)
		r := make(orb.Ring, 0, n+1)
		for k := 0; k < n; k++ {
			r = append(r, lp(float64(rnd.Intn(int(grid)+1)), float64(rnd.Intn(int(grid)+1))))
		}
		if rnd.Intn(3) == 0 {
			// A star-shaped ring: valid more often.
			cx, cy := grid/2, grid/2
			r = r[:0]
			for k := 0; k < n; k++ {
				a := 2 * math.Pi * (float64(k) + rnd.Float64()*0.8) / float64(n)
				rad := (0.2 + 0.8*rnd.Float64()) * grid / 2 / float64(i+1)
				r = append(r, lp(math.Round(cx+rad*math.Cos(a)), math.Round(cy+rad*math.Sin(a))))
			}
		}
		p = append(p, append(r, r[0]))
	}
	return p
}

func TestValidatePolygonMatchesBruteForce(t *testing.T) {
	rnd := rand.New(rand.NewSource(13))
	valid := 0
	for i := 0; i < 20000; i++ {
		p := randomPolygon(rnd)
		got := ValidatePolygon(p, GridPolygonLimits) == nil
		if want := naiveValid(p); got != want {
			t.Fatalf("%v: sweep says valid=%v, brute force %v (%v)", p, got, want, ValidatePolygon(p, GridPolygonLimits))
		}
		if got {
			valid++
		}
	}
	if valid < 1000 {
		t.Errorf("only %d of 20000 random polygons valid: the generator tests too little", valid)
	}
}

func TestOrientExact(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	for i := 0; i < 100000; i++ {
		a := orb.Point{116 + rnd.Float64(), 39 + rnd.Float64()}
		b := orb.Point{116 + rnd.Float64(), 39 + rnd.Float64()}
		var c orb.Point
		switch i % 3 {
		case 0: // nearly on the line: the filter must hand over
			t := rnd.Float64()
			c = orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
		case 1:
			c = orb.Point{a[0] + (b[0]-a[0])*0.5, math.Nextafter(a[1]+(b[1]-a[1])*0.5, 90)}
		default:
			c = orb.Point{116 + rnd.Float64(), 39 + rnd.Float64()}
		}
		if got, want := orient(a, b, c), orientExact(a, b, c); got != want {
			t.Fatalf("orient(%v, %v, %v) = %d, exact %d", a, b, c, got, want)
		}
	}
	// Tiny differences underflow a float product; the exact path decides.
	a, b, c := orb.Point{0, 0}, orb.Point{1e-200, 1e-200}, orb.Point{2e-200, 2.0000000000000004e-200}
	if got := orient(a, b, c); got != 1 {
		t.Errorf("underflowing orient = %d, want 1", got)
	}
}

// A wavy circle of the largest size allowed.
func BenchmarkValidatePolygonMax(b *testing.B) {
	n := GridPolygonLimits.MaxVertices - 1
	r := make(orb.Ring, 0, n+1)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		rad := 0.004 * (1 + 0.2*math.Sin(40*a))
		r = append(r, orb.Point{116.4 + rad*math.Cos(a), 39.9 + rad*math.Sin(a)})
	}
	p := orb.Polygon{append(r, r[0])}
	for b.Loop() {
		if err := ValidatePolygon(p, GridPolygonLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// A comb of long teeth whose boxes all overlap in x (and not in y).
func BenchmarkValidatePolygonComb(b *testing.B) {
	n := GridPolygonLimits.MaxVertices/4 - 1
	var r orb.Ring
	for i := 0; i < n; i++ {
		y := 39.9 + float64(i)*0.00002
		r = append(r, orb.Point{116.4, y}, orb.Point{116.45, y}, orb.Point{116.45, y + 0.00001}, orb.Point{116.4001, y + 0.00001})
	}
	r = append(r, orb.Point{116.39, 39.9 + float64(n)*0.00002}, orb.Point{116.39, 39.9}, r[0])
	p := orb.Polygon{r}
	if err := ValidatePolygon(p, GridPolygonLimits); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ValidatePolygon(p, GridPolygonLimits)
	}
}

// A comb of diagonal teeth: every long edge's box overlaps every other's on
// both axes, the sweep's worst case (every pair compared).
func BenchmarkValidatePolygonDiagonalComb(b *testing.B) {
	n := GridPolygonLimits.MaxVertices/4 - 1
	const s = 1e-6
	var r orb.Ring
	for i := 0; i < n; i++ {
		y := 39.9 + float64(i)*4*s
		r = append(r, orb.Point{116.4, y}, orb.Point{116.45, y + 0.05}, orb.Point{116.45, y + 0.05 + s}, orb.Point{116.4, y + 2*s})
	}
	top := 39.9 + float64(n)*4*s
	r = append(r, orb.Point{116.39, top}, orb.Point{116.39, 39.9}, r[0])
	p := orb.Polygon{r}
	l := GridPolygonLimits
	l.MaxExtentDeg = 1
	if err := ValidatePolygon(p, l); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ValidatePolygon(p, l)
	}
}
