// Package geo is gridd's pure spatial core: coordinate systems, division and
// grid codes, and (in later files) the point index. It does no I/O.
package geo

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// CRS names a coordinate system a point can arrive in. Everything gridd stores
// is WGS-84; every other system is converted on input.
type CRS string

// The coordinate systems gridd accepts.
const (
	// WGS84 is EPSG:4326, gridd's storage system.
	WGS84 CRS = "wgs84"
	// CGCS2000 is EPSG:4490, the national datum; it lies within about a metre
	// of WGS-84 and is treated as the same.
	CGCS2000 CRS = "cgcs2000"
	// GCJ02 is the obfuscated system of Chinese web maps and phones (AMap,
	// Tencent), offset by 100-700 m from WGS-84.
	GCJ02 CRS = "gcj02"
	// BD09 is Baidu's further transform of GCJ-02.
	BD09 CRS = "bd09"
)

// CRSs lists the accepted systems in the order the API documents them.
var CRSs = []CRS{WGS84, CGCS2000, GCJ02, BD09}

// ParseCRS reads a coordinate system name (case-insensitive); the empty string
// means WGS-84.
func ParseCRS(s string) (CRS, error) {
	switch c := CRS(strings.ToLower(strings.TrimSpace(s))); c {
	case "":
		return WGS84, nil
	case WGS84, CGCS2000, GCJ02, BD09:
		return c, nil
	case "epsg:4326", "4326":
		return WGS84, nil
	case "epsg:4490", "4490":
		return CGCS2000, nil
	}
	return "", fmt.Errorf("unknown crs %q (want one of wgs84, cgcs2000, gcj02, bd09)", s)
}

// ToWGS84 converts a point given in c to WGS-84. GCJ-02 and BD-09 are
// inverted iteratively; the result is within a few millimetres of the true
// inverse anywhere in China.
func ToWGS84(p orb.Point, c CRS) orb.Point {
	switch c {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return GCJ02ToWGS84(BD09ToGCJ02(p))
	}
	return p
}

// PointsToWGS84 converts pts from c to WGS-84 in place, on up to workers
// goroutines: the GCJ-02 and BD-09 inverses iterate, and for a large batch
// cost about as much as looking the points up.
func PointsToWGS84(pts []orb.Point, c CRS, workers int) {
	if c == WGS84 || c == CGCS2000 || c == "" {
		return
	}
	inParallel(len(pts), workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pts[i] = ToWGS84(pts[i], c)
		}
	})
}

// GeometryToWGS84 converts every coordinate of g from c to WGS-84 in place
// and returns g (a Point, being a value, comes back converted).
func GeometryToWGS84(g orb.Geometry, c CRS) orb.Geometry {
	if c == WGS84 || c == CGCS2000 || c == "" || g == nil {
		return g
	}
	return project.Geometry(g, func(p orb.Point) orb.Point { return ToWGS84(p, c) })
}

// FromWGS84 converts a WGS-84 point to c (the published forward transforms).
func FromWGS84(p orb.Point, c CRS) orb.Point {
	switch c {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return GCJ02ToBD09(WGS84ToGCJ02(p))
	}
	return p
}

// Constants of the published GCJ-02 transform (Krasovsky 1940 ellipsoid).
const (
	gcjA  = 6378245.0
	gcjEE = 0.00669342162296594323
	bdPi  = math.Pi * 3000.0 / 180.0
)

// InChina reports whether the point lies in the rough rectangle where GCJ-02
// applies its offset; outside it, GCJ-02 equals WGS-84.
func InChina(p orb.Point) bool {
	return p[0] >= 72.004 && p[0] <= 137.8347 && p[1] >= 0.8293 && p[1] <= 55.8271
}

// WGS84ToGCJ02 is the published forward GCJ-02 transform.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	lon, lat := p[0], p[1]
	x, y := lon-105.0, lat-35.0
	// Both series share their first periodic term.
	sx := (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dLat := gcjLat(x, y, sx)
	dLon := gcjLon(x, y, sx)
	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return orb.Point{lon + dLon, lat + dLat}
}

// GCJ02ToWGS84 inverts WGS84ToGCJ02 by fixed-point iteration: each step
// moves the estimate by the forward transform's error at it, and shrinks
// the error about a thousandfold. The forward transform inside the
// iteration is gcjOffset, the same series with its sines taken from the
// sines and cosines of two angles, carried from step to step (see there). It stops after a step of less than
// 1e-10° (about 11 µm), which leaves it within 1e-12° (0.1 µm) of the
// iteration run to its limit anywhere in China (TestGCJ02InverseConverged).
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	w := p
	t := newGCJTrig(p[0], p[1])
	for i := 0; i < 8; i++ {
		ox, oy := gcjOffset(w[0], w[1], t)
		dx, dy := p[0]-(w[0]+ox), p[1]-(w[1]+oy)
		w = orb.Point{w[0] + dx, w[1] + dy}
		t = t.moved(dx, dy)
		if math.Abs(dx) < 1e-10 && math.Abs(dy) < 1e-10 {
			break
		}
	}
	return w
}

// gcjTrig holds the sines and cosines gcjOffset needs at a point: of
// x·π/60 and y·π/60 (x, y: longitude - 105°, latitude - 35°) and of the
// latitude.
type gcjTrig struct{ sx, cx, sy, cy, sl, cl float64 }

func newGCJTrig(lon, lat float64) gcjTrig {
	var t gcjTrig
	t.sx, t.cx = math.Sincos((lon - 105.0) * math.Pi / 60)
	t.sy, t.cy = math.Sincos((lat - 35.0) * math.Pi / 60)
	t.sl, t.cl = math.Sincos(lat / 180.0 * math.Pi)
	return t
}

// moved is t at a point dLon, dLat (degrees, well under a degree) away, by
// the sum-angle formulas with the sine and cosine of the small angles
// from their series (exact in double precision below 1e-3 rad, and still
// to about 1e-16 at 0.01 rad).
func (t gcjTrig) moved(dLon, dLat float64) gcjTrig {
	var m gcjTrig
	m.sx, m.cx = turnBy(t.sx, t.cx, dLon*math.Pi/60)
	m.sy, m.cy = turnBy(t.sy, t.cy, dLat*math.Pi/60)
	m.sl, m.cl = turnBy(t.sl, t.cl, dLat*math.Pi/180)
	return m
}

// gcjMultiples are the sines of 2θ, 5θ, 20θ, 60θ, 120θ and 360θ from the
// sine and cosine of θ, by the double- and sum-angle formulas (top-level
// functions, so that the compiler inlines them: as closures they were a
// third of the GCJ-02 inverse's time).
func gcjMultiples(s1, c1 float64) (s2, s5, s20, s60, s120, s360 float64) {
	s2, c2 := sinCosDouble(s1, c1)
	s4, c4 := sinCosDouble(s2, c2)
	s5, c5 := sinCosSum(s4, c4, s1, c1)
	s10, c10 := sinCosDouble(s5, c5)
	s20, c20 := sinCosDouble(s10, c10)
	s40, c40 := sinCosDouble(s20, c20)
	s60, c60 := sinCosSum(s40, c40, s20, c20)
	s120, c120 := sinCosDouble(s60, c60)
	s240, c240 := sinCosDouble(s120, c120)
	s360, _ = sinCosSum(s240, c240, s120, c120)
	return
}

func sinCosDouble(s, c float64) (float64, float64) { return 2 * s * c, c*c - s*s }

func sinCosSum(s1, c1, s2, c2 float64) (float64, float64) {
	return s1*c2 + c1*s2, c1*c2 - s1*s2
}

// gcjOffset is WGS84ToGCJ02's offset (in degrees) at lon, lat inside China,
// from the sines and cosines t holds for that point instead of twelve
// sines and a cosine: every periodic term of the series is a multiple of
// x·π/60 or y·π/60 (2, 5, 20, 60, 120 and 360 times), which the double-
// and sum-angle formulas give. Each step adds a few ulps: the offset comes
// out within about 3e-14° of the direct series (TestGCJOffsetMatchesForward),
// far below the 1e-12° (0.1 µm) the inverse is held to. The inverse spends
// nearly all its time here, four times a point, and with t carried from
// step to step (gcjTrig.moved) it calls no sine after the first.
func gcjOffset(lon, lat float64, t gcjTrig) (float64, float64) {
	x, y := lon-105.0, lat-35.0
	xs2, xs5, xs20, xs60, xs120, xs360 := gcjMultiples(t.sx, t.cx)
	ys2, ys5, ys20, ys60, _, _ := gcjMultiples(t.sy, t.cy)
	sx := (20.0*xs360 + 20.0*xs120) * 2.0 / 3.0
	dLat := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x)) + sx +
		(20.0*ys60+40.0*ys20)*2.0/3.0 + (160.0*ys5+320*ys2)*2.0/3.0
	dLon := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x)) + sx +
		(20.0*xs60+40.0*xs20)*2.0/3.0 + (150.0*xs5+300.0*xs2)*2.0/3.0
	magic := 1 - gcjEE*t.sl*t.sl
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * t.cl * math.Pi)
	return dLon, dLat
}

// GCJ02ToBD09 is Baidu's published forward transform: about the origin,
// the radius grows by 2e-5·sin(y·bdPi) and the angle by δ = 3e-6·cos(x·bdPi),
// then the point moves by (0.0065°, 0.006°). The published form takes the
// angle with atan2 and goes back with its cosine and sine; here (x, y) is
// turned by δ directly, with δ's sine and cosine from their series (exact in
// double precision at |δ| ≤ 3e-6): the same point within a few ulps
// (TestBD09MatchesPublishedForm), with no atan2 and one sine and one cosine
// instead of two of each.
func GCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	r := math.Sqrt(x*x + y*y)
	if r == 0 {
		return orb.Point{0.0065, 0.006}
	}
	k := (r + 0.00002*math.Sin(y*bdPi)) / r
	sd, cd := bdTurn(0.000003 * math.Cos(x*bdPi))
	return orb.Point{k*(x*cd-y*sd) + 0.0065, k*(y*cd+x*sd) + 0.006}
}

// bdTurn is the sine and cosine of a turn d of at most a few 1e-6 rad.
func bdTurn(d float64) (sin, cos float64) {
	d2 := d * d
	return d * (1 - d2/6), 1 - d2/2
}

// BD09ToGCJ02 inverts GCJ02ToBD09: the published closed form, refined by
// fixed-point iteration until a step moves the point by under 1e-11°. Each
// step shrinks the error about a thousandfold, so the result is within
// 1e-12° of the iteration's limit (TestBD09InverseConverged), after two
// steps at most points. The sine and cosine of x·bdPi and y·bdPi are taken
// once, at the first estimate, and carried from step to step by the
// sum-angle formulas (a step moves them by under 1e-5 rad), so that the
// steps call only square roots.
func BD09ToGCJ02(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	r := math.Sqrt(x*x + y*y)
	if r == 0 {
		return orb.Point{}
	}
	sy, cy := math.Sincos(y * bdPi)
	sx, cx := math.Sincos(x * bdPi)
	k := (r - 0.00002*sy) / r
	sd, cd := bdTurn(-0.000003 * cx)
	g := orb.Point{k * (x*cd - y*sd), k * (y*cd + x*sd)}
	// The angles at the estimate g.
	sx, cx = turnBy(sx, cx, (g[0]-x)*bdPi)
	sy, cy = turnBy(sy, cy, (g[1]-y)*bdPi)
	for i := 0; i < 4; i++ {
		// GCJ02ToBD09(g), with the angles carried.
		rg := math.Sqrt(g[0]*g[0] + g[1]*g[1])
		kg := (rg + 0.00002*sy) / rg
		sd, cd := bdTurn(0.000003 * cx)
		dx := p[0] - (kg*(g[0]*cd-g[1]*sd) + 0.0065)
		dy := p[1] - (kg*(g[1]*cd+g[0]*sd) + 0.006)
		g = orb.Point{g[0] + dx, g[1] + dy}
		if math.Abs(dx) < 1e-11 && math.Abs(dy) < 1e-11 {
			break
		}
		sx, cx = turnBy(sx, cx, dx*bdPi)
		sy, cy = turnBy(sy, cy, dy*bdPi)
	}
	return g
}

// turnBy is the sine and cosine of a+d from those of a, for a small d
// (under about 1e-2 rad: the series are then exact to about 1e-16).
func turnBy(s, c, d float64) (float64, float64) {
	d2 := d * d
	sd := d * (1 - d2/6*(1-d2/20*(1-d2/42)))
	cd := 1 - d2/2*(1-d2/12*(1-d2/30))
	return s*cd + c*sd, c*cd - s*sd
}

func gcjLat(x, y, sx float64) float64 {
	r := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += sx
	r += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	r += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	return r
}

func gcjLon(x, y, sx float64) float64 {
	r := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += sx
	r += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	r += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	return r
}

// DistanceM is the great-circle distance between two WGS-84 points in metres
// (haversine on the mean Earth radius), good to about 0.5% at gridd's scale.
func DistanceM(a, b orb.Point) float64 {
	const r = 6371008.8
	la1, la2 := a[1]*math.Pi/180, b[1]*math.Pi/180
	dLat := la2 - la1
	dLon := (b[0] - a[0]) * math.Pi / 180
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}
