package postgis

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridd/grids"
)

// Geometry crosses the database edge here and only here: gridd sends WKB
// (wrapped in ST_GeomFromWKB(..., 4326) in the SQL) and reads ST_AsBinary.

// toWKB encodes a geometry for a query argument.
func toWKB(g orb.Geometry) ([]byte, error) {
	b, err := wkb.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encode geometry: %w", err)
	}
	return b, nil
}

// fromWKB decodes a geometry read with ST_AsBinary.
func fromWKB(b []byte) (orb.Geometry, error) {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode geometry: %w", err)
	}
	return g, nil
}

// polygonWKB decodes WKB that holds a Polygon.
func polygonWKB(b []byte) (orb.Polygon, error) {
	g, err := fromWKB(b)
	if err != nil {
		return nil, err
	}
	p, ok := g.(orb.Polygon)
	if !ok {
		return nil, fmt.Errorf("decode geometry: want a polygon, got %s", g.GeoJSONType())
	}
	return p, nil
}

// multiPolygon decodes WKB that holds a Polygon or MultiPolygon.
func multiPolygon(b []byte) (orb.MultiPolygon, error) {
	g, err := fromWKB(b)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("decode geometry: want a polygon, got %s", g.GeoJSONType())
}

// Redraws arrive as whole polygons (QGIS sends a grid back with one vertex
// moved). The vertices it did not move come back as the server served them
// (9 decimals, up to 0.05 mm off the stored doubles), so before any overlay
// the requested polygon is snapped onto the stored geometry around it: a
// vertex within snapTolM of a stored vertex becomes that vertex, bit for
// bit; one within snapTolM of a stored edge goes onto the edge. Overlays of
// polygons that nearly but not exactly share vertices are what leave
// clusters of vertices, slivers and self-intersections.

// snapTolM is the tolerance (metres) for snapping onto a stored vertex:
// below what a vertex tool can show apart, well below the smallest
// deliberate move (0.1 m). edgeTolM is the one for snapping onto a stored
// edge: it only has to cover the served rounding, since a vertex moved
// nearly along an edge of its own stays within a centimetre of the old
// edge for a while, and must not go back onto it.
// slackM2 is the area (m²) below which a difference is rounding: a piece
// that small is dropped, and a polygon leaving its community by no more is
// not clipped (the partition guard's tolerance is 100 times larger).
const (
	snapTolM = 0.01
	edgeTolM = 0.001
	slackM2  = 1e-4
)

// metresPerDegree gives the local scale (east, north) at latitude lat.
func metresPerDegree(lat float64) (float64, float64) {
	r := lat * math.Pi / 180
	return 111412.84*math.Cos(r) - 93.5*math.Cos(3*r), 111132.92 - 559.82*math.Cos(2*r) + 1.175*math.Cos(4*r)
}

// distM is the distance in metres between two nearby lon/lat points.
func distM(a, b orb.Point) float64 {
	kx, ky := metresPerDegree((a[1] + b[1]) / 2)
	return math.Hypot((a[0]-b[0])*kx, (a[1]-b[1])*ky)
}

// segmentNearest is the point of segment ab nearest to p (measured in a
// local metric frame) and its distance in metres.
func segmentNearest(p, a, b orb.Point) (orb.Point, float64) {
	kx, ky := metresPerDegree(p[1])
	ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
	bx, by := (b[0]-p[0])*kx, (b[1]-p[1])*ky
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	}
	q := orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
	switch t {
	case 0:
		q = a
	case 1:
		q = b
	}
	return q, math.Hypot(ax+t*dx, ay+t*dy)
}

// snapTarget is the stored geometry a requested polygon is snapped onto:
// the vertices and the edges of the rings around it.
type snapTarget struct {
	pts   []orb.Point
	rings []orb.Ring
}

// add adds the rings of a Polygon or MultiPolygon.
func (s *snapTarget) add(g orb.Geometry) {
	switch g := g.(type) {
	case orb.Polygon:
		for _, r := range g {
			s.rings = append(s.rings, r)
			s.pts = append(s.pts, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			s.add(p)
		}
	}
}

// snapPoint returns the stored vertex within tol metres of p (the nearest),
// else the nearest point of a stored edge within etol, else p; and whether
// p became a stored vertex.
func (s *snapTarget) snapPoint(p orb.Point, tol, etol float64) (orb.Point, bool) {
	best, bd := p, tol
	found := false
	for _, q := range s.pts {
		if math.Abs(q[1]-p[1]) > 1e-5 || math.Abs(q[0]-p[0]) > 1e-5 {
			continue
		}
		if d := distM(p, q); d < bd || (d == bd && found) {
			best, bd, found = q, d, true
		}
	}
	if found {
		return best, true
	}
	bd = etol
	for _, r := range s.rings {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if p[0] < math.Min(a[0], b[0])-1e-5 || p[0] > math.Max(a[0], b[0])+1e-5 ||
				p[1] < math.Min(a[1], b[1])-1e-5 || p[1] > math.Max(a[1], b[1])+1e-5 {
				continue
			}
			if q, d := segmentNearest(p, a, b); d < bd {
				best, bd = q, d
			}
		}
	}
	return best, false
}

// snapPolygon snaps every vertex of p onto the target (see snapPoint) and
// then drops each vertex within tol metres of the one kept before it (a
// stored vertex wins over a new one), so that the polygon neither nearly
// repeats a stored vertex nor holds two vertices closer than tol.
func (s *snapTarget) snapPolygon(p orb.Polygon, tol, etol float64) orb.Polygon {
	out := make(orb.Polygon, 0, len(p))
	for _, r := range p {
		n := len(r)
		if n > 1 && r[0] == r[n-1] {
			n--
		}
		type vx struct {
			p      orb.Point
			stored bool
		}
		var kept []vx
		for _, q := range r[:n] {
			q, stored := s.snapPoint(q, tol, etol)
			if k := len(kept); k > 0 && distM(kept[k-1].p, q) < tol {
				if stored && !kept[k-1].stored {
					kept[k-1] = vx{q, stored}
				}
				continue
			}
			kept = append(kept, vx{q, stored})
		}
		for len(kept) > 1 && distM(kept[0].p, kept[len(kept)-1].p) < tol {
			if last := kept[len(kept)-1]; last.stored && !kept[0].stored {
				kept[0] = last
			}
			kept = kept[:len(kept)-1]
		}
		ring := make(orb.Ring, 0, len(kept)+1)
		for _, v := range kept {
			ring = append(ring, v.p)
		}
		if len(ring) > 0 {
			ring = append(ring, ring[0])
		}
		out = append(out, ring)
	}
	return out
}

// vertexMoves tells whether want differs from have only by moved vertices:
// the same rings with the same number of vertices, in the same order (from
// any start, either direction), where every vertex of want either is the
// corresponding vertex of have or is new (no vertex of have) and replaces a
// vertex want no longer has. It returns the moves (none when the polygons
// are the same) and false when want is some other change.
func vertexMoves(have, want orb.Polygon) ([]grids.VertexMove, bool) {
	if len(have) != len(want) {
		return nil, false
	}
	haveSet, wantSet := map[orb.Point]bool{}, map[orb.Point]bool{}
	for _, r := range have {
		for _, p := range r {
			haveSet[p] = true
		}
	}
	for _, r := range want {
		for _, p := range r {
			wantSet[p] = true
		}
	}
	var moves []grids.VertexMove
	for ri := range have {
		h, w := openRing(have[ri]), openRing(want[ri])
		n := len(h)
		if n != len(w) || n < 3 {
			return nil, false
		}
		bestK, bestD, best, ties := 0, 0, -1, 0
		for _, d := range []int{1, -1} {
			for k := 0; k < n; k++ {
				m, ok := 0, true
				for i := 0; i < n && ok; i++ {
					o := h[((k+d*i)%n+n)%n]
					switch {
					case w[i] == o:
						m++
					case haveSet[w[i]] || wantSet[o]:
						ok = false
					}
				}
				if !ok || m == 0 {
					continue
				}
				switch {
				case m > best:
					bestK, bestD, best, ties = k, d, m, 1
				case m == best:
					ties++
				}
			}
		}
		if best < 0 || ties > 1 {
			return nil, false
		}
		for i := 0; i < n; i++ {
			if o := h[((bestK+bestD*i)%n+n)%n]; w[i] != o {
				moves = append(moves, grids.VertexMove{From: o, To: w[i]})
			}
		}
	}
	return moves, true
}

// openRing is the ring without its closing point.
func openRing(r orb.Ring) orb.Ring {
	if n := len(r); n > 1 && r[0] == r[n-1] {
		return r[:n-1]
	}
	return r
}

// areaM2 is the area of a polygon in square metres (at its latitude).
func areaM2(p orb.Polygon) float64 {
	if len(p) == 0 || len(p[0]) == 0 {
		return 0
	}
	kx, ky := metresPerDegree(p[0][0][1])
	a := 0.0
	for i, r := range p {
		s := 0.0
		for j := 0; j+1 < len(r); j++ {
			s += (r[j][0]-r[0][0])*(r[j+1][1]-r[0][1]) - (r[j+1][0]-r[0][0])*(r[j][1]-r[0][1])
		}
		s = math.Abs(s) / 2 * kx * ky
		if i == 0 {
			a += s
		} else {
			a -= s
		}
	}
	return a
}

// clean snaps an overlay's result onto the target (see snapPolygon); of a
// MultiPolygon, pieces of at most slackM2 are dropped first, and what is
// left, when one polygon, is snapped. Anything else is returned as it is.
func (s *snapTarget) clean(b []byte) ([]byte, error) {
	g, err := fromWKB(b)
	if err != nil {
		return nil, err
	}
	if mp, ok := g.(orb.MultiPolygon); ok {
		var keep orb.MultiPolygon
		for _, p := range mp {
			if areaM2(p) > slackM2 {
				keep = append(keep, p)
			}
		}
		if len(keep) != 1 {
			return b, nil
		}
		g = keep[0]
	}
	p, ok := g.(orb.Polygon)
	if !ok {
		return b, nil
	}
	return toWKB(s.snapPolygon(p, snapTolM, edgeTolM))
}
