package geo

import (
	"sort"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// View is what lookups read: a base Index with recent edits laid over it.
// An edit is applied as a patch over an area: every base grid whose box
// meets the area is masked, and the current grids of that area (read fresh
// from the database) go into a small delta index. A View answers exactly as
// one Index built from the same current grids would: the owner is the
// smallest-code covering grid among the unmasked base grids and the delta
// grids. Views are immutable; Patch returns a new one.
//
// Grid ids of a View: base ids first, then the delta's, offset by the base
// length.
type View struct {
	base       *Index
	mask       []uint64 // bitset over base ids; nil when nothing is masked
	delta      *Index   // nil when there is no delta
	deltaIn    IndexInput
	mapVersion int64
}

// NewView wraps an index with no edits over it.
func NewView(base *Index) *View { return &View{base: base, mapVersion: base.MapVersion()} }

// MapVersion is the highest change-feed version the view accounts for.
func (v *View) MapVersion() int64 { return v.mapVersion }

// Len is the number of grids in the base and the delta (masked ones
// included).
func (v *View) Len() int {
	n := v.base.Len()
	if v.delta != nil {
		n += v.delta.Len()
	}
	return n
}

// DeltaLen is the number of grids in the delta.
func (v *View) DeltaLen() int {
	if v.delta == nil {
		return 0
	}
	return v.delta.Len()
}

// Base is the index under the edits.
func (v *View) Base() *Index { return v.base }

// Patch returns a view in which the grids meeting area are those of
// current, which must hold every current grid whose box meets area (more is
// harmless), with the names and management grids they need.
func (v *View) Patch(area orb.Bound, current IndexInput) (*View, error) {
	nv := &View{base: v.base, mapVersion: max(v.mapVersion, current.MapVersion)}
	nv.mask = make([]uint64, (v.base.Len()+63)/64)
	copy(nv.mask, v.mask)
	v.base.tree.search(area.Min[0], area.Min[1], area.Max[0], area.Max[1], func(id int) {
		nv.mask[id>>6] |= 1 << (id & 63)
	})
	// The previous delta minus the area, plus the area's current grids.
	// Each grid keeps the management grids of the input it comes from: a
	// grid of the area has exactly those current lists (none if it is in
	// none), whatever the previous delta said.
	in := IndexInput{Names: map[Code]string{}, Mgmt: map[Code][]Named{}, MapVersion: nv.mapVersion}
	seen := map[Code]bool{}
	for _, g := range current.Grids {
		if !seen[g.Code] {
			seen[g.Code] = true
			in.Grids = append(in.Grids, g)
			if m := current.Mgmt[g.Code]; len(m) > 0 {
				in.Mgmt[g.Code] = m
			}
		}
	}
	for _, g := range v.deltaIn.Grids {
		if seen[g.Code] || g.Polygon.Bound().Intersects(area) {
			continue
		}
		seen[g.Code] = true
		in.Grids = append(in.Grids, g)
		if m := v.deltaIn.Mgmt[g.Code]; len(m) > 0 {
			in.Mgmt[g.Code] = m
		}
	}
	for _, src := range []IndexInput{v.deltaIn, current} {
		for c, n := range src.Names {
			in.Names[c] = n
		}
	}
	d, err := NewIndex(in)
	if err != nil {
		return nil, err
	}
	nv.delta, nv.deltaIn = d, in
	return nv, nil
}

// Owner is the grid owning p, by the rule of Index.Owner over the view's
// current grids.
func (v *View) Owner(p orb.Point) (int, bool) {
	b, bok := v.base.owner(p, v.mask)
	if v.delta == nil {
		return b, bok
	}
	d, dok := v.delta.Owner(p)
	switch {
	case !dok:
		return b, bok
	case !bok || v.delta.recs[d].code < v.base.recs[b].code:
		return v.base.Len() + d, true
	}
	return b, true
}

// Near lists the view's current grids within radiusM of p as Index.Near
// does.
func (v *View) Near(p orb.Point, radiusM float64) []Nearby {
	out := v.base.near(p, radiusM, v.mask)
	if v.delta == nil {
		return out
	}
	for _, n := range v.delta.Near(p, radiusM) {
		out = append(out, Nearby{ID: v.base.Len() + n.ID, DistanceM: n.DistanceM})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].DistanceM != out[b].DistanceM {
			return out[a].DistanceM < out[b].DistanceM
		}
		return v.Code(out[a].ID) < v.Code(out[b].ID)
	})
	return out
}

// Info describes grid id of the view.
func (v *View) Info(id int) GridInfo {
	if n := v.base.Len(); id >= n {
		return v.delta.Info(id - n)
	}
	return v.base.Info(id)
}

// Code is grid id's code.
func (v *View) Code(id int) Code {
	if n := v.base.Len(); id >= n {
		return v.delta.Code(id - n)
	}
	return v.base.Code(id)
}

// Owners sets ids[i] to the owner of pts[i] as Owner decides it, or -1 when
// no grid covers the point, splitting the points between up to workers
// goroutines. Over a large map nearly every lookup waits on memory; a tight
// loop of lookups lets the processor overlap those waits, so finding all
// owners first and describing them afterwards is faster than doing both
// point by point. (Visiting the points in spatial order was measured too:
// it gains only when a batch holds about one point per grid, and loses
// otherwise.) The points are taken eight at a time, and the first memory
// each lookup of the eight reads is read for all of them first
// (Index.touch), so that their cache misses overlap.
func (v *View) Owners(pts []orb.Point, ids []int32, workers int) {
	inParallel(len(pts), workers, func(lo, hi int) {
		var sink uint64
		for g := lo; g < hi; g += 8 {
			end := min(g+8, hi)
			sink += v.base.touch(pts[g:end])
			for i := g; i < end; i++ {
				id, ok := v.Owner(pts[i])
				if !ok {
					id = -1
				}
				ids[i] = int32(id)
			}
		}
		touchSink.Add(sink)
	})
}

// touchSink receives what Index.touch read, so that the reads stay.
var touchSink atomic.Uint64

// TouchInfo reads the record of each grid in ids (view ids, -1 for none)
// that Info will read, all of them before any is described, so that their
// cache misses overlap (see Owners). It changes nothing; keep the result
// alive (runtime.KeepAlive) so that the reads are not optimised away.
func (v *View) TouchInfo(ids []int32) uint64 {
	var sink uint64
	n := v.base.Len()
	for _, id := range ids {
		if id >= 0 && int(id) < n {
			sink += v.base.recs[id].code
		}
	}
	return sink
}
