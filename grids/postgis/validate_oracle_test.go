package postgis_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridd/geo"
	"gridd/grids/postgis/pgtest"
)

// geo.ValidatePolygon must say what PostGIS's ST_IsValid says (GEOS's
// IsValidOp), on crafted polygons and on thousands of random ones drawn on
// coarse lattices (where shared vertices, touches and collinear edges are
// common) and in floating point (stars, swapped vertices, near-collinear
// points, holes anywhere).
func TestValidatePolygonAgreesWithPostGIS(t *testing.T) {
	pool := pgtest.New(t)
	ctx := context.Background()
	limits := geo.PolygonLimits{Bounds: orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}}

	rnd := rand.New(rand.NewPCG(13, 2026))
	var polys []orb.Polygon
	polys = append(polys, craftedPolygons()...)
	for range 12000 {
		polys = append(polys, latticePolygon(rnd))
	}
	for range 6000 {
		polys = append(polys, floatPolygon(rnd))
	}

	wkbs := make([][]byte, len(polys))
	for i, p := range polys {
		b, err := wkb.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		wkbs[i] = b
	}
	start := time.Now()
	rows, err := pool.Query(ctx, `SELECT i, ST_IsValid(g), ST_IsValidReason(g)
		FROM (SELECT i, ST_GeomFromWKB(w, 4326) g FROM unnest($1::bytea[]) WITH ORDINALITY t(w, i)) x ORDER BY i`, wkbs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	mismatches := 0
	for rows.Next() {
		var i int
		var valid bool
		var reason string
		if err := rows.Scan(&i, &valid, &reason); err != nil {
			t.Fatal(err)
		}
		p := polys[i-1]
		err := geo.ValidatePolygon(p, limits)
		var pe *geo.PolygonError
		if err != nil && !errors.As(err, &pe) {
			t.Fatalf("not a PolygonError: %v", err)
		}
		if valid {
			counts["valid"]++
			if len(p) > 1 {
				counts["valid with holes"]++
			}
		} else {
			counts[reasonProblem(reason)]++
		}
		switch {
		case valid && err != nil:
			t.Errorf("polygon %d: PostGIS says valid, ValidatePolygon: %v\n%s", i, err, wktOf(p))
		case !valid && err == nil:
			t.Errorf("polygon %d: PostGIS says %s, ValidatePolygon accepts it\n%s", i, reason, wktOf(p))
		case !valid && !consistent(geo.Problem(reasonProblem(reason)), pe.Problem):
			t.Errorf("polygon %d: PostGIS says %s, ValidatePolygon %s: %v\n%s", i, reason, pe.Problem, err, wktOf(p))
		default:
			continue
		}
		if mismatches++; mismatches > 10 {
			t.Fatal("too many differences")
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d polygons in %v: %v", len(polys), time.Since(start), counts)
	// The batch must exercise every rule, valid polygons with holes
	// included.
	for _, k := range []string{"valid", "valid with holes", string(geo.SelfIntersection), string(geo.RingSelfTouch), string(geo.TooFewPoints),
		string(geo.HoleOutside), string(geo.NestedHoles), string(geo.Disconnected)} {
		if counts[k] < 3 {
			t.Errorf("only %d polygons of kind %s: the generator does not test that rule", counts[k], k)
		}
	}
}

// reasonProblem maps ST_IsValidReason's text to geo's problem names.
func reasonProblem(reason string) string {
	for prefix, p := range map[string]geo.Problem{
		"Ring Self-intersection":               geo.RingSelfTouch,
		"Self-intersection":                    geo.SelfIntersection,
		"Hole lies outside shell":              geo.HoleOutside,
		"Holes are nested":                     geo.NestedHoles,
		"Interior is disconnected":             geo.Disconnected,
		"Too few points in geometry component": geo.TooFewPoints,
		"Invalid Coordinate":                   geo.NotFinite,
	} {
		if strings.HasPrefix(reason, prefix) {
			return string(p)
		}
	}
	return reason
}

// consistent reports whether geo's problem agrees with PostGIS's for a
// polygon both find invalid. One polygon can break several rules, and GEOS
// and geo look at pairs of edges in different orders: where edges cross
// or touch, either may be named. GEOS also stops looking for crossings at
// the first two rings that touch twice and goes on to the holes, so it can
// name a hole's place or the disconnected interior where geo, which looks
// at every pair of edges first, names a crossing. The rest must be equal:
// geo names a hole's place or the interior only when no edges cross, and
// then GEOS finds the same.
func consistent(postgis, mine geo.Problem) bool {
	edges := func(p geo.Problem) bool { return p == geo.SelfIntersection || p == geo.RingSelfTouch }
	holes := func(p geo.Problem) bool {
		return p == geo.HoleOutside || p == geo.NestedHoles || p == geo.Disconnected
	}
	switch {
	case postgis == mine:
		return true
	case edges(postgis):
		return edges(mine)
	case holes(postgis):
		return edges(mine)
	}
	return false
}

func wktOf(p orb.Polygon) string {
	var b strings.Builder
	b.WriteString("POLYGON(")
	for i, r := range p {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("(")
		for j, pt := range r {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(fmtF(pt[0]) + " " + fmtF(pt[1]))
		}
		b.WriteString(")")
	}
	b.WriteString(")")
	return b.String()
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// ring on a lattice of 1/1024° steps from 116.4°E 39.9°N (exact in binary).
func lat(xy ...float64) orb.Ring {
	r := make(orb.Ring, 0, len(xy)/2)
	for i := 0; i+1 < len(xy); i += 2 {
		r = append(r, orb.Point{116.4 + xy[i]/1024, 39.9 + xy[i+1]/1024})
	}
	return r
}

func sqr(x, y, s float64) orb.Ring { return lat(x, y, x+s, y, x+s, y+s, x, y+s, x, y) }

func craftedPolygons() []orb.Polygon {
	return []orb.Polygon{
		{sqr(0, 0, 10)},
		{lat(0, 0, 10, 10, 10, 0, 0, 10, 0, 0)},                                           // bow-tie
		{lat(0, 0, 5, 5, 10, 0, 10, 10, 5, 5, 0, 10, 0, 0)},                               // bow-tie at a vertex
		{lat(0, 0, 10, 0, 10, 10, 15, 10, 10, 10, 0, 10, 0, 0)},                           // spike
		{lat(0, 0, 10, 0, 10, 0, 0, 0)},                                                   // repeated points only
		{lat(0, 0, 5, 0, 10, 0, 0, 0)},                                                    // flat
		{lat(0, 0, 10, 0, 10, 10, 5, 0, 0, 10, 0, 0)},                                     // touches itself inside an edge
		{sqr(0, 0, 10), sqr(2, 2, 3)},                                                     // hole
		{sqr(0, 0, 10), lat(0, 0, 3, 1, 1, 3, 0, 0)},                                      // hole touching at a vertex
		{sqr(0, 0, 10), lat(5, 0, 6, 2, 4, 2, 5, 0)},                                      // hole touching inside an edge
		{sqr(0, 0, 10), sqr(20, 20, 2)},                                                   // hole outside
		{sqr(0, 0, 10), sqr(10, 10, 2)},                                                   // hole outside, touching at a corner
		{sqr(0, 0, 10), sqr(10, 2, 2)},                                                    // hole outside, sharing an edge
		{lat(0, 0, 10, 0, 10, 10, 6, 10, 6, 4, 4, 4, 4, 10, 0, 10, 0, 0), sqr(4.5, 6, 1)}, // hole in a notch
		{sqr(2, 2, 3), sqr(0, 0, 10)},                                                     // shell inside its hole
		{sqr(0, 0, 10), sqr(1, 1, 8), sqr(3, 3, 2)},                                       // nested holes
		{sqr(0, 0, 10), sqr(1, 1, 4), sqr(3, 3, 4)},                                       // holes crossing
		{sqr(0, 0, 10), sqr(2, 2, 2), sqr(4, 4, 2)},                                       // holes touching at a point
		{sqr(0, 0, 10), lat(0, 5, 5, 0, 5, 5, 0, 5)},                                      // hole touching the shell twice
		{sqr(0, 0, 10), lat(0, 5, 3, 4, 3, 6, 0, 5), lat(3, 5, 5, 4, 7, 5, 5, 6, 3, 5), lat(7, 5, 9, 4, 10, 5, 9, 6, 7, 5)}, // chain of holes
		{sqr(0, 0, 10), lat(2, 2, 5, 2, 4, 3, 2, 2), lat(5, 2, 5, 5, 4.5, 3.5, 5, 2), lat(5, 5, 2, 2, 3.5, 4, 5, 5)},        // cycle of holes
		{sqr(0, 0, 10), lat(5, 5, 2, 4, 2, 6, 5, 5), lat(5, 5, 8, 4, 8, 6, 5, 5), lat(5, 5, 4, 8, 6, 8, 5, 5)},              // holes meeting at one point
		{{{116.4, 39.9}, {116.5, 39.9}, {116.5, math.NaN()}, {116.4, 39.9}}},
	}
}

// latticePolygon draws 1-4 rings of 3-8 points on a lattice of 2-13 steps.
func latticePolygon(rnd *rand.Rand) orb.Polygon {
	n := 2 + rnd.IntN(12)
	var p orb.Polygon
	for i := range 1 + rnd.IntN(4) {
		k := 3 + rnd.IntN(6)
		var xy []float64
		if rnd.IntN(2) == 0 {
			// star-shaped around the centre, smaller for holes
			for j := range k {
				a := 2 * math.Pi * (float64(j) + 0.8*rnd.Float64()) / float64(k)
				r := (0.2 + 0.8*rnd.Float64()) * float64(n) / 2 / float64(1+i)
				xy = append(xy, math.Round(float64(n)/2+r*math.Cos(a)), math.Round(float64(n)/2+r*math.Sin(a)))
			}
		} else {
			for range k {
				xy = append(xy, float64(rnd.IntN(n+1)), float64(rnd.IntN(n+1)))
			}
		}
		xy = append(xy, xy[0], xy[1])
		p = append(p, lat(xy...))
	}
	return p
}

// floatPolygon draws a star-shaped shell of 4-40 points, sometimes with two
// vertices swapped or a vertex moved onto a neighbouring edge in floating
// point, and 0-3 star holes placed anywhere near it.
func floatPolygon(rnd *rand.Rand) orb.Polygon {
	star := func(cx, cy, rad float64, k int) orb.Ring {
		r := make(orb.Ring, 0, k+1)
		for j := range k {
			a := 2 * math.Pi * (float64(j) + 0.9*rnd.Float64()) / float64(k)
			d := rad * (0.3 + 0.7*rnd.Float64())
			r = append(r, orb.Point{cx + d*math.Cos(a), cy + d*math.Sin(a)})
		}
		return append(r, r[0])
	}
	k := 4 + rnd.IntN(37)
	shell := star(116.4, 39.9, 0.001, k)
	switch rnd.IntN(4) {
	case 0:
		i, j := rnd.IntN(k), rnd.IntN(k)
		shell[i], shell[j] = shell[j], shell[i]
		shell[k] = shell[0]
	case 1:
		// a vertex on the line of the next edge, as computed
		i := rnd.IntN(k - 2)
		t := 0.1 + 0.8*rnd.Float64()
		a, b := shell[i+1], shell[i+2]
		shell[i] = orb.Point{a[0] + (a[0]-b[0])*t, a[1] + (a[1]-b[1])*t}
		shell[k] = shell[0]
	}
	p := orb.Polygon{shell}
	for range rnd.IntN(4) {
		cx := 116.4 + 0.0016*(rnd.Float64()-0.5)
		cy := 39.9 + 0.0016*(rnd.Float64()-0.5)
		p = append(p, star(cx, cy, 0.0004*rnd.Float64(), 3+rnd.IntN(8)))
	}
	return p
}
