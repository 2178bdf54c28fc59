package geo

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/paulmach/orb"
)

// IndexBuilder builds an Index from grids handed over one at a time, as
// rows arrive from the database, without holding the input: each grid's
// coordinates go straight into the index's flat coordinate slice and its
// attributes into its final 32-byte record. Build then puts the records in
// Hilbert order in place, rewrites the coordinate headers and builds the
// directories. The peak is the finished index plus about 60 bytes a grid
// (the grid boxes and the sort keys), never the input as Go values beside
// the index.
//
// NewIndex is this builder fed from an IndexInput; an index streamed from
// the same grids in the same order is identical to it.
type IndexBuilder struct {
	ix    *Index
	recs  []gridRec   // input order until Build
	boxes []orb.Bound // input order until Build
	ext   orb.Bound

	names map[Code]string
	// Divisions by code number, and the codes behind each index slot (names
	// are attached in Build, so names may be set at any time before).
	commIdx, streetIdx, distIdx    map[uint64]int32
	commCode, streetCode, distCode []uint64
	lastComm                       uint64
	lastCommIdx                    int32
	mgmtPairs                      []mgmtPair
	mgmtNamed                      []Named
	mgmtNamedIdx                   map[Named]int32
	err                            error
	built                          bool
}

// mgmtPair is one management-grid membership: a unit-grid code and the
// management grid (an index into mgmtNamed).
type mgmtPair struct {
	grid uint64
	m    int32
	seq  int32
}

// The coordinate header of a grid packs its id (bits 20 and up) and its
// ring count (low 20 bits) into one float64 holding an integer below 2^52,
// so that a cell entry needs only the grid's offset in xy.
const (
	ringBits = 20
	maxRings = 1<<ringBits - 1
)

func gridHeader(id, rings int) float64 { return float64(uint64(id)<<ringBits | uint64(rings)) }

func headerRings(h float64) int { return int(uint64(h) & maxRings) }

func headerID(h float64) int { return int(uint64(h) >> ringBits) }

// NewIndexBuilder starts an index. grids and coords, when known, size the
// index up front (coords: the number of float64 it will hold, see
// CoordCount); they are hints, and more grids or coordinates only cost a
// reallocation. mapVersion is the change-feed version the input is read
// at.
func NewIndexBuilder(grids, coords int, mapVersion int64) *IndexBuilder {
	b := &IndexBuilder{
		ix:           &Index{mapVersion: mapVersion},
		recs:         make([]gridRec, 0, max(grids, 0)),
		boxes:        make([]orb.Bound, 0, max(grids, 0)),
		ext:          orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}},
		names:        map[Code]string{},
		commIdx:      map[uint64]int32{},
		streetIdx:    map[uint64]int32{},
		distIdx:      map[uint64]int32{},
		mgmtNamedIdx: map[Named]int32{},
		lastCommIdx:  -1,
	}
	b.ix.xy = make([]float64, 0, max(coords, 0))
	adviseHugePages(b.ix.xy)
	adviseHugePages(b.recs)
	return b
}

// CoordCount is how many float64 the index keeps for a polygon of the given
// rings and points (closing points included, as PostGIS counts them):
// a header, then per ring its point count and its points without the
// closing one.
func CoordCount(rings, points int) int { return 1 + 2*points - rings }

// SetName names a district, street or community code.
func (b *IndexBuilder) SetName(c Code, name string) { b.names[c] = name }

// AddMgmt records that unit grid grid belongs to management grid m. A
// grid's management grids are listed in the order they are added.
func (b *IndexBuilder) AddMgmt(grid Code, m Named) {
	c, ok := parseGridCode(string(grid))
	if !ok {
		return // a grid that is not in the index
	}
	mi, ok := b.mgmtNamedIdx[m]
	if !ok {
		mi = int32(len(b.mgmtNamed))
		b.mgmtNamedIdx[m] = mi
		b.mgmtNamed = append(b.mgmtNamed, m)
	}
	b.mgmtPairs = append(b.mgmtPairs, mgmtPair{grid: c, m: mi, seq: int32(len(b.mgmtPairs))})
}

// parseGridCode reads a 15-digit unit-grid code as a number.
func parseGridCode[T string | []byte](s T) (uint64, bool) {
	if len(s) != 15 {
		return 0, false
	}
	var c uint64
	for i := 0; i < 15; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		c = c*10 + uint64(d)
	}
	return c, true
}

// Add adds one grid.
func (b *IndexBuilder) Add(g IndexGrid) error {
	if b.err != nil {
		return b.err
	}
	c, err := b.code(string(g.Code))
	if err != nil {
		return b.fail(err)
	}
	if len(g.Polygon) == 0 || len(g.Polygon[0]) < 4 {
		return b.fail(fmt.Errorf("index: grid %s has no outer ring of at least 4 points", g.Code))
	}
	if len(g.Polygon) > maxRings {
		return b.fail(fmt.Errorf("index: grid %s has more than %d rings", g.Code, maxRings))
	}
	off := b.startGrid(len(g.Polygon))
	for _, r := range g.Polygon {
		m := len(r)
		if m > 1 && r[0] == r[m-1] {
			m--
		}
		b.ix.xy = append(b.ix.xy, float64(m))
		for _, p := range r[:m] {
			b.ix.xy = append(b.ix.xy, p[0], p[1])
		}
	}
	return b.endGrid(c, off, g.Polygon[0].Bound(), g.AreaM2, g.Version)
}

// AddWKB adds one grid given as its code's digits and its polygon as
// (ISO or extended) WKB, as ST_AsBinary returns it, without making Go
// values of either: both may be buffers the caller reuses.
func (b *IndexBuilder) AddWKB(code, wkb []byte, areaM2 float64, version int) error {
	if b.err != nil {
		return b.err
	}
	c, err := b.code(string(code))
	if err != nil {
		return b.fail(err)
	}
	bad := func(why string) error {
		return b.fail(fmt.Errorf("index: grid %s: %s", code, why))
	}
	if len(wkb) < 9 {
		return bad("geometry too short")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if wkb[0] == 0 {
		bo = binary.BigEndian
	} else if wkb[0] != 1 {
		return bad("not WKB")
	}
	typ := bo.Uint32(wkb[1:])
	i := 5
	if typ&0x20000000 != 0 { // EWKB SRID
		i += 4
		typ &^= 0x20000000
	}
	if typ != 3 {
		return bad(fmt.Sprintf("geometry type %d, want a 2D Polygon", typ))
	}
	if len(wkb) < i+4 {
		return bad("geometry too short")
	}
	nr := int(bo.Uint32(wkb[i:]))
	i += 4
	if nr == 0 {
		return bad("no outer ring of at least 4 points")
	}
	if nr > maxRings {
		return bad(fmt.Sprintf("more than %d rings", maxRings))
	}
	off := b.startGrid(nr)
	var box orb.Bound
	for r := 0; r < nr; r++ {
		if len(wkb) < i+4 {
			b.ix.xy = b.ix.xy[:off]
			return bad("geometry too short")
		}
		m := int(bo.Uint32(wkb[i:]))
		i += 4
		if len(wkb) < i+16*m {
			b.ix.xy = b.ix.xy[:off]
			return bad("geometry too short")
		}
		if r == 0 && m < 4 {
			b.ix.xy = b.ix.xy[:off]
			return bad("no outer ring of at least 4 points")
		}
		pts := wkb[i : i+16*m]
		i += 16 * m
		if m > 1 && string(pts[:16]) == string(pts[16*(m-1):]) {
			m--
		}
		b.ix.xy = append(b.ix.xy, float64(m))
		minx, miny, maxx, maxy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for k := 0; k < m; k++ {
			x := math.Float64frombits(bo.Uint64(pts[16*k:]))
			y := math.Float64frombits(bo.Uint64(pts[16*k+8:]))
			b.ix.xy = append(b.ix.xy, x, y)
			minx, miny, maxx, maxy = min(minx, x), min(miny, y), max(maxx, x), max(maxy, y)
		}
		if r == 0 {
			box = orb.Bound{Min: orb.Point{minx, miny}, Max: orb.Point{maxx, maxy}}
		}
	}
	return b.endGrid(c, off, box, areaM2, version)
}

func (b *IndexBuilder) fail(err error) error {
	b.err = err
	return err
}

func (b *IndexBuilder) code(s string) (uint64, error) {
	c, ok := parseGridCode(s)
	if !ok {
		return 0, fmt.Errorf("index: grid code %q is not a 15-digit unit-grid code", s)
	}
	return c, nil
}

// startGrid writes a grid's header (its id is filled in by Build) and
// returns its offset.
func (b *IndexBuilder) startGrid(rings int) int {
	off := len(b.ix.xy)
	if c := cap(b.ix.xy); off+1 > c {
		b.grow(off + 1)
	}
	b.ix.xy = append(b.ix.xy, gridHeader(0, rings))
	return off
}

// grow reallocates xy for at least n values (when the hint was short), and
// asks for huge pages for the new array.
func (b *IndexBuilder) grow(n int) {
	nx := make([]float64, len(b.ix.xy), max(n, cap(b.ix.xy)+cap(b.ix.xy)/4+1024))
	adviseHugePages(nx)
	copy(nx, b.ix.xy)
	b.ix.xy = nx
}

func (b *IndexBuilder) endGrid(c uint64, off int, box orb.Bound, area float64, version int) error {
	if len(b.ix.xy) > math.MaxUint32-1 {
		return b.fail(fmt.Errorf("index: more coordinates than one index holds"))
	}
	rec := gridRec{code: c, area: area, version: int32(version), off: uint32(off), mgmt: -1}
	cc := c / 1000
	if cc == b.lastComm && b.lastCommIdx >= 0 {
		rec.comm = b.lastCommIdx
	} else {
		ci, ok := b.commIdx[cc]
		if !ok {
			sc := c / 1_000_000
			si, ok := b.streetIdx[sc]
			if !ok {
				dc := c / 1_000_000_000
				di, ok := b.distIdx[dc]
				if !ok {
					di = int32(len(b.distCode))
					b.distIdx[dc] = di
					b.distCode = append(b.distCode, c)
				}
				si = int32(len(b.streetCode))
				b.streetIdx[sc] = si
				b.streetCode = append(b.streetCode, c)
				b.ix.streetDist = append(b.ix.streetDist, di)
			}
			ci = int32(len(b.commCode))
			b.commIdx[cc] = ci
			b.commCode = append(b.commCode, c)
			b.ix.commStreet = append(b.ix.commStreet, si)
		}
		rec.comm = ci
		b.lastComm, b.lastCommIdx = cc, ci
	}
	b.recs = append(b.recs, rec)
	b.boxes = append(b.boxes, box)
	b.ext = b.ext.Union(box)
	return nil
}

// Len is the number of grids added so far.
func (b *IndexBuilder) Len() int { return len(b.recs) }

// Build finishes the index. The builder cannot be used afterwards.
func (b *IndexBuilder) Build() (*Index, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.built {
		return nil, fmt.Errorf("index: Build called twice")
	}
	b.built = true
	ix := b.ix
	n := len(b.recs)
	if len(ix.xy) < cap(ix.xy)-cap(ix.xy)/16-1<<16 {
		// A hint far too large: give the excess back.
		ix.xy = slices.Clip(append(make([]float64, 0, len(ix.xy)), ix.xy...))
	}

	// Hilbert order of the box centres, ties by code, applied in place.
	type hkey struct {
		h, code uint64
		i       uint32
	}
	keys := make([]hkey, n)
	for i := range keys {
		keys[i] = hkey{hilbertOf(b.boxes[i].Center(), b.ext), b.recs[i].code, uint32(i)}
	}
	slices.SortFunc(keys, func(a, b hkey) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		case a.code < b.code:
			return -1
		case a.code > b.code:
			return 1
		}
		return 0
	})
	perm := make([]uint32, n)
	for k := range keys {
		perm[k] = keys[k].i
	}
	keys = nil
	permute(b.recs, b.boxes, perm)
	perm = nil
	// The sort keys (24 bytes a grid) are garbage now, and the cell
	// directory is about to allocate as much again: collect first, so that
	// it reuses their memory instead of growing the process by it (with the
	// default GOGC the collector would wait until the heap doubled, and a
	// reload, with the old index live, would peak that much higher). The
	// index is pointer-free, so a collection costs milliseconds.
	runtime.GC()
	ix.recs = b.recs
	if n > 0 {
		ix.ext = b.ext
	}
	for id := range ix.recs {
		o := ix.recs[id].off
		ix.xy[o] = gridHeader(id, headerRings(ix.xy[o]))
	}

	// Names and management grids.
	name := func(c uint64, l Level) Named {
		code := codeString(c).At(l)
		return Named{Code: string(code), Name: b.names[code]}
	}
	ix.communities = make([]Named, len(b.commCode))
	for i, c := range b.commCode {
		ix.communities[i] = name(c, Community)
	}
	ix.streets = make([]Named, len(b.streetCode))
	for i, c := range b.streetCode {
		ix.streets[i] = name(c, Street)
	}
	ix.districts = make([]Named, len(b.distCode))
	for i, c := range b.distCode {
		ix.districts[i] = name(c, District)
	}
	if err := b.attachMgmt(); err != nil {
		return nil, err
	}

	ix.tree = buildPackedTree(b.boxes)
	cells, err := buildCellDirectory(b.boxes, ix.recs)
	if err != nil {
		return nil, err
	}
	ix.cells = cells
	b.recs, b.boxes = nil, nil
	runtime.GC() // the boxes and the directory's scratch, as above
	return ix, nil
}

// attachMgmt groups the memberships by grid, stores each distinct list once
// and points the grids' records at theirs.
func (b *IndexBuilder) attachMgmt() error {
	ps := b.mgmtPairs
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, func(x, y mgmtPair) int {
		switch {
		case x.grid < y.grid:
			return -1
		case x.grid > y.grid:
			return 1
		}
		return int(x.seq - y.seq)
	})
	// Per grid code, the list index.
	type gridList struct {
		grid uint64
		list int32
	}
	var lists []gridList
	listIdx := map[string]int32{}
	var key strings.Builder
	for i := 0; i < len(ps); {
		j := i
		key.Reset()
		for j < len(ps) && ps[j].grid == ps[i].grid {
			m := b.mgmtNamed[ps[j].m]
			key.WriteString(m.Code)
			key.WriteByte(0)
			key.WriteString(m.Name)
			key.WriteByte(0)
			j++
		}
		li, ok := listIdx[key.String()]
		if !ok {
			li = int32(len(b.ix.mgmt))
			listIdx[key.String()] = li
			l := make([]Named, 0, j-i)
			for _, p := range ps[i:j] {
				l = append(l, b.mgmtNamed[p.m])
			}
			b.ix.mgmt = append(b.ix.mgmt, l)
		}
		lists = append(lists, gridList{ps[i].grid, li})
		i = j
	}
	b.mgmtPairs = nil
	for k := range b.ix.recs {
		rec := &b.ix.recs[k]
		if i, ok := slices.BinarySearchFunc(lists, rec.code, func(g gridList, c uint64) int {
			switch {
			case g.grid < c:
				return -1
			case g.grid > c:
				return 1
			}
			return 0
		}); ok {
			rec.mgmt = lists[i].list
		}
	}
	return nil
}

// permute reorders recs and boxes in place so that position k holds what
// was at perm[k], following the permutation's cycles.
func permute(recs []gridRec, boxes []orb.Bound, perm []uint32) {
	for k := range perm {
		if perm[k] == uint32(k) || perm[k] == math.MaxUint32 {
			continue
		}
		r, bx := recs[k], boxes[k]
		j := k
		for {
			src := int(perm[j])
			perm[j] = math.MaxUint32
			if src == k {
				recs[j], boxes[j] = r, bx
				break
			}
			recs[j], boxes[j] = recs[src], boxes[src]
			j = src
		}
	}
}
