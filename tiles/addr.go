package tiles

import (
	"fmt"
	"math"
	"strconv"

	"github.com/paulmach/orb"

	"gridd/grids"
)

// MaxZoom is the deepest zoom gridd serves tiles for.
const MaxZoom = 22

// Web-Mercator (EPSG:3857) constants.
const (
	earthRadius = 6378137.0
	// WorldHalf is half the width of the Web-Mercator square, in metres.
	WorldHalf = math.Pi * earthRadius
	// MaxLat is the latitude where the Web-Mercator square ends.
	MaxLat = 85.05112877980659
)

// ID addresses one tile of the XYZ (Google/OSM) scheme: y grows southwards.
type ID struct {
	Z, X, Y int
}

func (t ID) String() string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }

// ParseID reads z, x and y from URL parts. A z outside 0..MaxZoom or a
// malformed number is an *grids.InvalidError; x or y outside the zoom's range
// is grids.ErrNotFound with the range in the message.
func ParseID(zs, xs, ys string) (ID, error) {
	z, err := strconv.Atoi(zs)
	if err != nil {
		return ID{}, grids.Invalid("z", "zoom %q is not a whole number", zs)
	}
	if z < 0 || z > MaxZoom {
		return ID{}, grids.Invalid("z", "zoom %d is outside 0..%d", z, MaxZoom)
	}
	x, err := strconv.Atoi(xs)
	if err != nil {
		return ID{}, grids.Invalid("x", "column %q is not a whole number", xs)
	}
	y, err := strconv.Atoi(ys)
	if err != nil {
		return ID{}, grids.Invalid("y", "row %q is not a whole number", ys)
	}
	t := ID{z, x, y}
	if err := t.Check(); err != nil {
		return ID{}, err
	}
	return t, nil
}

// Check reports whether the tile exists: z in 0..MaxZoom (else
// *grids.InvalidError), x and y in 0..2^z-1 (else grids.ErrNotFound).
func (t ID) Check() error {
	if t.Z < 0 || t.Z > MaxZoom {
		return grids.Invalid("z", "zoom %d is outside 0..%d", t.Z, MaxZoom)
	}
	n := 1 << t.Z
	if t.X < 0 || t.X >= n || t.Y < 0 || t.Y >= n {
		return fmt.Errorf("%w: tile %s: at zoom %d, x and y run from 0 to %d", grids.ErrNotFound, t, t.Z, n-1)
	}
	return nil
}

// Bound is the tile's square in Web-Mercator metres.
func (t ID) Bound() orb.Bound {
	size := 2 * WorldHalf / float64(int(1)<<t.Z)
	minX := -WorldHalf + float64(t.X)*size
	maxY := WorldHalf - float64(t.Y)*size
	return orb.Bound{Min: orb.Point{minX, maxY - size}, Max: orb.Point{minX + size, maxY}}
}

// BufferedBound is the tile's square grown by buffer/extent of its width on
// every side: the area whose features the tile draws.
func (t ID) BufferedBound(buffer, extent int) orb.Bound {
	b := t.Bound()
	pad := (b.Max[0] - b.Min[0]) * float64(buffer) / float64(extent)
	return b.Pad(pad)
}

// LonLatBound is the tile's square in WGS-84 degrees.
func (t ID) LonLatBound() orb.Bound {
	b := t.Bound()
	return orb.Bound{Min: ToLonLat(b.Min), Max: ToLonLat(b.Max)}
}

// FromLonLat projects a WGS-84 point to Web-Mercator metres, clamping the
// latitude to the Web-Mercator square.
func FromLonLat(p orb.Point) orb.Point {
	lat := math.Max(-MaxLat, math.Min(MaxLat, p[1]))
	x := earthRadius * p[0] * math.Pi / 180
	y := earthRadius * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
	return orb.Point{x, y}
}

// ToLonLat is the inverse of FromLonLat.
func ToLonLat(p orb.Point) orb.Point {
	lon := p[0] / earthRadius * 180 / math.Pi
	lat := (2*math.Atan(math.Exp(p[1]/earthRadius)) - math.Pi/2) * 180 / math.Pi
	return orb.Point{lon, lat}
}

// MercatorBound projects a WGS-84 bound to Web-Mercator (the projection is
// monotonic in each axis, so the corners suffice).
func MercatorBound(b orb.Bound) orb.Bound {
	return orb.Bound{Min: FromLonLat(b.Min), Max: FromLonLat(b.Max)}
}

// Covering returns the tiles of zoom z whose squares meet the WGS-84 bound.
func Covering(b orb.Bound, z int) (minX, minY, maxX, maxY int) {
	n := 1 << z
	m := MercatorBound(b)
	size := 2 * WorldHalf / float64(n)
	clamp := func(v int) int { return max(0, min(n-1, v)) }
	minX = clamp(int(math.Floor((m.Min[0] + WorldHalf) / size)))
	maxX = clamp(int(math.Floor((m.Max[0] + WorldHalf) / size)))
	minY = clamp(int(math.Floor((WorldHalf - m.Max[1]) / size)))
	maxY = clamp(int(math.Floor((WorldHalf - m.Min[1]) / size)))
	return
}
