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
// the error about a thousandfold. It stops after a step of less than
// 1e-10° (about 11 µm), which leaves it within 1e-12° (0.1 µm) of the
// iteration run to its limit anywhere in China (TestGCJ02InverseConverged).
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if !InChina(p) {
		return p
	}
	w := p
	for i := 0; i < 8; i++ {
		g := WGS84ToGCJ02(w)
		dx, dy := p[0]-g[0], p[1]-g[1]
		w = orb.Point{w[0] + dx, w[1] + dy}
		if math.Abs(dx) < 1e-10 && math.Abs(dy) < 1e-10 {
			break
		}
	}
	return w
}

// GCJ02ToBD09 is Baidu's published forward transform.
func GCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 inverts GCJ02ToBD09: the published closed form, refined by
// fixed-point iteration so that the round trip closes to well under a
// millimetre.
func BD09ToGCJ02(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdPi)
	g := orb.Point{z * math.Cos(theta), z * math.Sin(theta)}
	for i := 0; i < 4; i++ {
		b := GCJ02ToBD09(g)
		g = orb.Point{g[0] + p[0] - b[0], g[1] + p[1] - b[1]}
	}
	return g
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
