package geo

import (
	"math"
	"sort"
	"unsafe"

	"github.com/paulmach/orb"
)

// Named is a division or management grid as a lookup reports it.
type Named struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// IndexGrid is one current unit grid handed to NewIndex.
type IndexGrid struct {
	Code    Code
	Polygon orb.Polygon // WGS-84, closed rings as PostGIS stores them
	AreaM2  float64
	Version int
}

// IndexInput is everything an Index is built from: the current unit grids,
// the names of the divisions their codes point to, and the management grids
// each unit grid belongs to.
type IndexInput struct {
	Grids []IndexGrid
	// Names maps district, street and community codes to their names; a
	// code with no name is reported with an empty name.
	Names map[Code]string
	// Mgmt maps a unit-grid code to the management grids that contain it.
	Mgmt map[Code][]Named
	// MapVersion is the change-feed version the input was read at.
	MapVersion int64
}

// Index is an immutable in-memory index of the current unit grids that
// answers "which grid owns this point" without the database.
//
// The owner rule is the one the database writes in gridd_grid_at: among the
// grids that cover the point (ST_Covers: interior or boundary), the one with
// the smallest code. A point on an edge shared by two grids, or on a vertex
// shared by four, therefore always has exactly one owner, and the index and
// PostGIS name the same one.
//
// Agreement on boundaries is exact, not approximate: the covers test is
// PostGIS's own point-in-polygon short-circuit (liblwgeom's winding-number
// test with determineSide evaluated in IEEE double arithmetic, the sign taken
// as computed, zero meaning "on the line" when the point lies within the
// segment's box). PostGIS 3.x's ST_Covers(polygon, point) takes that path,
// not GEOS's robust predicates, so evaluating the same expression in the
// same order (with explicit rounding so that no fused multiply-add changes a
// sign) gives the same answer for every point, including points interpolated
// onto an edge that are only "on" it in floating point. The differential
// test checks this against PostGIS.
//
// Layout: grids are stored in Hilbert order of their box centres, with their
// coordinates in one flat []float64 (a header with the grid's id and ring
// count, then the rings without the closing point). Point
// queries go through a sparse uniform cell directory (cells the size of the
// median grid box, in an open-addressing hash table; oversized grids in a
// small R-tree of their own); distance queries through a packed Hilbert
// R-tree (16 entries a node) over the grid boxes. An index of a million grids
// is a handful of large slices.
type Index struct {
	recs  []gridRec
	xy    []float64
	tree  packedTree
	cells cellDirectory
	ext   orb.Bound // the extent of all grid boxes

	communities []Named
	commStreet  []int32
	streets     []Named
	streetDist  []int32
	districts   []Named
	mgmt        [][]Named // distinct management-grid lists; gridRec.mgmt points here
	mapVersion  int64
}

// gridRec is what the index keeps per grid besides its coordinates, in one
// 32-byte record so that describing a grid reads one cache line.
type gridRec struct {
	code    uint64  // grid code as a number (all codes have 15 digits)
	area    float64 // m²
	off     uint32  // where the grid starts in xy: the ring count, then per ring its point count and its points (x, y), closing point left out
	version int32
	comm    int32 // index into communities
	mgmt    int32 // index into mgmt, -1 for none
}

// GridInfo is what the index knows about one grid.
type GridInfo struct {
	Code      Code
	AreaM2    float64
	Version   int
	Community Named
	Street    Named
	District  Named
	Mgmt      []Named
}

// NewIndex builds an index. Grid codes must be distinct 15-digit codes and
// every polygon must have a closed outer ring of at least four points. It
// is an IndexBuilder fed with in's grids in order.
func NewIndex(in IndexInput) (*Index, error) {
	coords := 0
	for _, g := range in.Grids {
		pts := 0
		for _, r := range g.Polygon {
			pts += len(r)
		}
		coords += CoordCount(len(g.Polygon), pts)
	}
	b := NewIndexBuilder(len(in.Grids), coords, in.MapVersion)
	for c, n := range in.Names {
		b.SetName(c, n)
	}
	for _, g := range in.Grids {
		if err := b.Add(g); err != nil {
			return nil, err
		}
		for _, m := range in.Mgmt[g.Code] {
			b.AddMgmt(g.Code, m)
		}
	}
	return b.Build()
}

// Len is the number of grids in the index.
func (ix *Index) Len() int { return len(ix.recs) }

// MapVersion is the change-feed version the index was built from.
func (ix *Index) MapVersion() int64 { return ix.mapVersion }

// Info describes grid id (0 <= id < Len()).
func (ix *Index) Info(id int) GridInfo {
	rec := &ix.recs[id]
	ci := rec.comm
	si := ix.commStreet[ci]
	di := ix.streetDist[si]
	var mgmt []Named
	if rec.mgmt >= 0 {
		mgmt = ix.mgmt[rec.mgmt]
	}
	return GridInfo{
		Code:      codeString(rec.code),
		AreaM2:    rec.area,
		Version:   int(rec.version),
		Community: ix.communities[ci],
		Street:    ix.streets[si],
		District:  ix.districts[di],
		Mgmt:      mgmt,
	}
}

// Code is grid id's code.
func (ix *Index) Code(id int) Code { return codeString(ix.recs[id].code) }

// codeString writes a 15-digit grid code held as a number.
func codeString(c uint64) Code {
	var b [15]byte
	for i := 14; i >= 0; i-- {
		b[i] = byte('0' + c%10)
		c /= 10
	}
	return Code(b[:])
}

// Owner returns the id of the grid that owns p (WGS-84 lon/lat): the grid
// with the smallest code among those whose polygon covers p. ok is false when
// no grid covers p.
func (ix *Index) Owner(p orb.Point) (id int, ok bool) { return ix.owner(p, nil) }

// masked reports whether bit id is set in the bitset m (nil: none).
func masked(m []uint64, id int) bool { return m != nil && m[id>>6]&(1<<(id&63)) != 0 }

// owner is Owner ignoring the grids masked in m.
func (ix *Index) owner(p orb.Point, m []uint64) (id int, ok bool) {
	best := -1
	x, y := p[0], p[1]
	// A cell lists its grids in code order: the first that covers p is
	// the owner among them.
	es, qx, qy := ix.cells.candidates(x, y)
	for _, e := range es {
		if qx < e.minx || qy < e.miny || qx > e.maxx || qy > e.maxy {
			continue
		}
		if m != nil && masked(m, headerID(ix.xy[e.off])) {
			continue
		}
		if ix.coversAt(int(e.off), x, y) {
			best = headerID(ix.xy[e.off])
			break
		}
	}
	if len(ix.cells.bigIDs) > 0 {
		ix.cells.big.search(x, y, x, y, func(i int) {
			idx := int(ix.cells.bigIDs[i])
			if masked(m, idx) || best >= 0 && ix.recs[idx].code > ix.recs[best].code {
				return
			}
			if ix.covers(idx, x, y) {
				best = idx
			}
		})
	}
	return best, best >= 0
}

// Covering lists, in code order, every grid whose polygon covers p.
func (ix *Index) Covering(p orb.Point) []int {
	var out []int
	ix.tree.search(p[0], p[1], p[0], p[1], func(id int) {
		if ix.covers(id, p[0], p[1]) {
			out = append(out, id)
		}
	})
	sort.Slice(out, func(a, b int) bool { return ix.recs[out[a]].code < ix.recs[out[b]].code })
	return out
}

// Covers reports whether grid id's polygon covers p (interior or boundary),
// exactly as PostGIS's ST_Covers decides it.
func (ix *Index) Covers(id int, p orb.Point) bool { return ix.covers(id, p[0], p[1]) }

func (ix *Index) covers(id int, x, y float64) bool { return ix.coversAt(int(ix.recs[id].off), x, y) }

func (ix *Index) coversAt(o int, x, y float64) bool {
	nr := headerRings(ix.xy[o])
	o++
	side, o := ringSide(ix.xy, o, x, y)
	switch side {
	case -1:
		return false
	case 0:
		return true
	}
	for r := 1; r < nr; r++ {
		side, o = ringSide(ix.xy, o, x, y)
		switch side {
		case 1:
			return false
		case 0:
			return true
		}
	}
	return true
}

// ringSide is liblwgeom's point_in_ring for the ring stored at xy[o:] (its
// point count, then its points): 1 inside, 0 on the ring, -1 outside, with
// the same double-precision expression for the side of a segment. Segments
// whose y range misses the point are skipped first; they can change neither
// the winding number nor the on-ring test. It also returns the offset after
// the ring.
func ringSide(xy []float64, o int, px, py float64) (int, int) {
	m := int(xy[o])
	end := o + 1 + 2*m
	pts := xy[o+1 : end]
	wn := 0
	x1, y1 := pts[2*(m-1)], pts[2*(m-1)+1]
	for i := 0; i < m; i++ {
		x2, y2 := pts[2*i], pts[2*i+1]
		if (py > y1 && py > y2) || (py < y1 && py < y2) || (x1 == x2 && y1 == y2) {
			x1, y1 = x2, y2
			continue
		}
		side := float64((x2-x1)*(py-y1)) - float64((px-x1)*(y2-y1))
		if side == 0 && !(px > max(x1, x2) || px < min(x1, x2)) {
			return 0, end
		}
		if y1 <= py && py < y2 && side > 0 {
			wn++
		} else if y2 <= py && py < y1 && side < 0 {
			wn--
		}
		x1, y1 = x2, y2
	}
	if wn == 0 {
		return -1, end
	}
	return 1, end
}

// Near lists the grids within radiusM metres of p, nearest first (ties by
// code), with their distances. A grid covering p has distance 0.
//
// Distances are planar in a local metric frame centred on p: longitude and
// latitude differences are scaled by the WGS-84 ellipsoid's radii of
// curvature at p's latitude (prime vertical × cos φ east-west, meridional
// north-south), then the point-to-polygon distance is Euclidean. Within a few
// kilometres this agrees with PostGIS's geography ST_Distance to well under a
// centimetre per 100 m; the test checks it against PostGIS.
func (ix *Index) Near(p orb.Point, radiusM float64) []Nearby { return ix.near(p, radiusM, nil) }

func (ix *Index) near(p orb.Point, radiusM float64, m []uint64) []Nearby {
	if radiusM < 0 || len(ix.recs) == 0 {
		return nil
	}
	kx, ky := metresPerDegree(p[1])
	dx, dy := radiusM/kx, radiusM/ky
	var out []Nearby
	ix.tree.search(p[0]-dx, p[1]-dy, p[0]+dx, p[1]+dy, func(id int) {
		if masked(m, id) {
			return
		}
		d := ix.distance(id, p, kx, ky)
		if d <= radiusM {
			out = append(out, Nearby{ID: id, DistanceM: d})
		}
	})
	sort.Slice(out, func(a, b int) bool {
		if out[a].DistanceM != out[b].DistanceM {
			return out[a].DistanceM < out[b].DistanceM
		}
		return ix.recs[out[a].ID].code < ix.recs[out[b].ID].code
	})
	return out
}

// Nearby is a grid and its distance from a point in metres.
type Nearby struct {
	ID        int
	DistanceM float64
}

// DistanceM is the distance in metres from p to grid id (0 when it covers
// p), computed as Near describes.
func (ix *Index) DistanceM(id int, p orb.Point) float64 {
	kx, ky := metresPerDegree(p[1])
	return ix.distance(id, p, kx, ky)
}

func (ix *Index) distance(id int, p orb.Point, kx, ky float64) float64 {
	if ix.covers(id, p[0], p[1]) {
		return 0
	}
	best := math.Inf(1)
	o := int(ix.recs[id].off)
	nr := headerRings(ix.xy[o])
	o++
	for r := 0; r < nr; r++ {
		m := int(ix.xy[o])
		xy := ix.xy[o+1 : o+1+2*m]
		o += 1 + 2*m
		x1, y1 := (xy[2*(m-1)]-p[0])*kx, (xy[2*(m-1)+1]-p[1])*ky
		for i := 0; i < m; i++ {
			x2, y2 := (xy[2*i]-p[0])*kx, (xy[2*i+1]-p[1])*ky
			if d := segDist2(x1, y1, x2, y2); d < best {
				best = d
			}
			x1, y1 = x2, y2
		}
	}
	return math.Sqrt(best)
}

// segDist2 is the squared distance from the origin to segment (x1,y1)-(x2,y2).
func segDist2(x1, y1, x2, y2 float64) float64 {
	dx, dy := x2-x1, y2-y1
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = -(x1*dx + y1*dy) / l2
		t = max(0, min(1, t))
	}
	x, y := x1+t*dx, y1+t*dy
	return x*x + y*y
}

// metresPerDegree returns the lengths in metres of one degree of longitude
// and of latitude at latitude lat on the WGS-84 ellipsoid.
func metresPerDegree(lat float64) (kx, ky float64) {
	const a = 6378137.0
	const e2 = 0.00669437999014
	phi := lat * math.Pi / 180
	s := math.Sin(phi)
	w := 1 - e2*s*s
	n := a / math.Sqrt(w)
	m := a * (1 - e2) / (w * math.Sqrt(w))
	return n * math.Cos(phi) * math.Pi / 180, m * math.Pi / 180
}

// MemoryBytes estimates the bytes held by the index's slices (not counting
// names and management-grid lists).
func (ix *Index) MemoryBytes() int {
	return int(unsafe.Sizeof(gridRec{}))*cap(ix.recs) + 8*cap(ix.xy) + 8*cap(ix.tree.boxes) + 4*cap(ix.tree.index) +
		int(unsafe.Sizeof(cellSlot{}))*cap(ix.cells.slots) + int(unsafe.Sizeof(cellEntry{}))*cap(ix.cells.entries)
}
