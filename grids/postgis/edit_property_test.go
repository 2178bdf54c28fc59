package postgis_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

var editSeed = flag.Uint64("edit-seed", 0, "seed of TestRandomEdits (0: from the clock)")

// TestRandomEdits applies a seeded random sequence of edits, valid and
// invalid, to a jittered community of 24 grids. After every step PostGIS
// confirms the partition and the single owner of sample points, and the
// in-memory lookup agrees with PostGIS on random points: both the index
// rebuilt from scratch and the view patched with each step's changed area,
// as a running server's Locator keeps it; a refused step must leave the
// database unchanged.
func TestRandomEdits(t *testing.T) {
	seed := *editSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -edit-seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	ctx := context.Background()
	st := postgis.NewStore(pgtest.New(t))
	pool := st.Pool()
	l := newLattice(testNX, testNY, 0.5, rng)
	seedCommunity(t, pool, l)

	load := func() []gridInfo {
		rows, err := pool.Query(ctx, `SELECT code, version, ST_AsBinary(geom) FROM unit_grids
			WHERE community_code = $1 AND valid_to IS NULL ORDER BY code`, testComm)
		if err != nil {
			t.Fatal(err)
		}
		var out []gridInfo
		var g gridInfo
		var b []byte
		if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.version, &b}, func() error {
			p, err := unmarshalPolygon(b)
			g.geom = p
			out = append(out, g)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	neighbours := func(code string) []string {
		rows, err := pool.Query(ctx, `SELECT b.code FROM unit_grids a JOIN unit_grids b ON b.community_code = a.community_code
			AND b.valid_to IS NULL AND b.code <> a.code AND ST_Relate(a.geom, b.geom, '****1****')
			WHERE a.code = $1 AND a.valid_to IS NULL ORDER BY b.code`, code)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	view := func() *geo.View {
		in, err := st.IndexInput(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := geo.NewIndex(in)
		if err != nil {
			t.Fatal(err)
		}
		return geo.NewView(ix)
	}
	patched := view()
	var changesets []int64
	counts := map[string]int{}
	const steps = 200
	for step := range steps {
		gs := load()
		byCode := map[string]gridInfo{}
		for _, g := range gs {
			byCode[g.code] = g
		}
		g := gs[rng.IntN(len(gs))]
		r := func(c string) grids.GridRef { return grids.GridRef{Code: geo.Code(c), Version: byCode[c].version} }
		var ops []grids.Operation
		var kind string
		revert := int64(0)
		switch k := rng.IntN(10); {
		case k < 3: // split through the centroid at a random angle
			kind = "split"
			c, _ := centroid(g.geom)
			a := rng.Float64() * math.Pi
			d := orb.Point{math.Cos(a) * 0.003, math.Sin(a) * 0.003}
			ops = []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{r(g.code)},
				Line: line(orb.Point{c[0] - d[0], c[1] - d[1]}, orb.Point{c[0] + d[0], c[1] + d[1]})}}
		case k < 5: // merge with a neighbour, while the community has grids to spare
			kind = "merge"
			nb := neighbours(g.code)
			if len(nb) == 0 || len(gs) < 6 {
				continue
			}
			ops = []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{r(g.code), r(nb[rng.IntN(len(nb))])}}}
		case k < 7: // move a vertex of the grid in every grid that has it
			kind = "move"
			ring := g.geom[0]
			v := ring[rng.IntN(len(ring)-1)]
			var refs []grids.GridRef
			for _, o := range gs {
				if hasVertex(o.geom, v) {
					refs = append(refs, r(o.code))
				}
			}
			to := orb.Point{v[0] + (rng.Float64()-0.5)*dLon*0.4, v[1] + (rng.Float64()-0.5)*dLat*0.4}
			ops = []grids.Operation{{Op: grids.Reshape, Grids: refs, Moves: []grids.VertexMove{{From: v, To: to}}}}
		case k < 8: // a replace that leaves a gap or an overlap: always refused
			kind = "bad-replace"
			c, _ := centroid(g.geom)
			f := 0.9
			if rng.IntN(2) == 0 {
				f = 1.1
			}
			scaled := g.geom.Clone()
			for _, ring := range scaled {
				for i := range ring {
					ring[i] = orb.Point{c[0] + (ring[i][0]-c[0])*f, c[1] + (ring[i][1]-c[1])*f}
				}
			}
			ops = []grids.Operation{{Op: grids.Replace, Grids: []grids.GridRef{r(g.code)},
				Parts: []grids.Part{{Code: geo.Code(g.code), Geometry: poly(scaled)}}}}
		case k < 9: // a stale version: always refused
			kind = "stale"
			if len(gs) < 2 {
				continue
			}
			ref := r(g.code)
			ref.Version++
			ops = []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{ref, r(gs[(rng.IntN(len(gs)-1)+1+indexOf(gs, g.code, func(x gridInfo) string { return x.code }))%len(gs)].code)}}}
		default: // revert a random earlier changeset
			kind = "revert"
			if len(changesets) == 0 {
				continue
			}
			revert = changesets[rng.IntN(len(changesets))]
		}
		before := fingerprint(t, pool)
		var cs grids.Changeset
		var err error
		if revert != 0 {
			cs, err = st.RevertChangeset(ctx, "random", revert, "")
		} else {
			cs, err = st.ApplyChangeset(ctx, "random", grids.ChangesetRequest{Message: "random step", Operations: ops})
		}
		outcome := kind + ":ok"
		if err != nil {
			outcome = kind + ":refused"
			var inv *grids.InvalidError
			var part *grids.PartitionError
			var stale *grids.StaleError
			if !errors.As(err, &inv) && !errors.As(err, &part) && !errors.As(err, &stale) && !errors.Is(err, grids.ErrConflict) {
				t.Fatalf("step %d (%s): unexpected error kind %T: %v", step, kind, err, err)
			}
			if after := fingerprint(t, pool); after != before {
				t.Fatalf("step %d (%s): refused (%v) but the database changed", step, kind, err)
			}
		} else {
			changesets = append(changesets, cs.ID)
			if kind == "bad-replace" || kind == "stale" {
				t.Fatalf("step %d: %s was accepted: %+v", step, kind, cs.Result)
			}
		}
		counts[outcome]++
		checkPartition(t, pool, rng)
		after := load()
		if area, changed := changedArea(gs, after); changed {
			in, err := st.IndexInputIn(ctx, area)
			if err != nil {
				t.Fatal(err)
			}
			if patched, err = patched.Patch(area, in); err != nil {
				t.Fatalf("step %d (%s): patch the view: %v", step, kind, err)
			}
		} else if err == nil {
			t.Fatalf("step %d (%s): accepted but no grid changed", step, kind)
		}
		checkOwnersInMemory(t, pool, map[string]*geo.View{"rebuilt": view(), "patched": patched}, rng)
	}
	t.Logf("outcomes: %v", counts)
	if counts["split:ok"] == 0 || counts["merge:ok"] == 0 || counts["move:ok"] == 0 {
		t.Errorf("the sequence exercised too little: %v", counts)
	}
}

// gridInfo is a current grid as the random test sees it.
type gridInfo struct {
	code    string
	version int
	geom    orb.Polygon
}

// changedArea is the box of every grid that differs between two states of
// the community (new, gone, or a new version): what the change feed reports
// for a changeset.
func changedArea(before, after []gridInfo) (orb.Bound, bool) {
	key := func(g gridInfo) string { return fmt.Sprintf("%s/%d", g.code, g.version) }
	in := func(gs []gridInfo) map[string]bool {
		m := map[string]bool{}
		for _, g := range gs {
			m[key(g)] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var area orb.Bound
	changed := false
	add := func(gs []gridInfo, other map[string]bool) {
		for _, g := range gs {
			if other[key(g)] {
				continue
			}
			if !changed {
				area, changed = g.geom.Bound(), true
			} else {
				area = area.Union(g.geom.Bound())
			}
		}
	}
	add(before, a)
	add(after, b)
	return area, changed
}

// checkOwnersInMemory holds gridd's in-memory lookup (geo.View.Owner, the
// index the lookup endpoints answer from) against PostGIS's gridd_grid_at
// for random points in and around the community.
func checkOwnersInMemory(t *testing.T, pool *pgxpool.Pool, views map[string]*geo.View, rng *rand.Rand) {
	t.Helper()
	var lons, lats []float64
	for range 50 {
		p := orb.Point{lon0 + (rng.Float64()*1.1-0.05)*dLon*testNX, lat0 + (rng.Float64()*1.1-0.05)*dLat*testNY}
		lons, lats = append(lons, p[0]), append(lats, p[1])
	}
	rows, err := pool.Query(context.Background(), `SELECT coalesce(gridd_grid_at(ST_SetSRID(ST_MakePoint(x, y), 4326)), '')
		FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(x, y, i) ORDER BY i`, lons, lats)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	pts := make([]orb.Point, len(lons))
	for i := range pts {
		pts[i] = orb.Point{lons[i], lats[i]}
	}
	batch := make([]int32, len(pts))
	for name, v := range views {
		v.Owners(pts, batch, 2)
		for i, p := range pts {
			got, gotBatch := "", ""
			if id, ok := v.Owner(p); ok {
				got = v.Code(id).String()
			}
			if batch[i] >= 0 {
				gotBatch = v.Code(int(batch[i])).String()
			}
			if got != want[i] || gotBatch != want[i] {
				t.Fatalf("point %v,%v: the %s in-memory index says %q (batch %q), PostGIS %q", p[0], p[1], name, got, gotBatch, want[i])
			}
		}
	}
}

func indexOf[T any](xs []T, key string, f func(T) string) int {
	for i, x := range xs {
		if f(x) == key {
			return i
		}
	}
	return -1
}

func hasVertex(p orb.Polygon, v orb.Point) bool {
	for _, r := range p {
		for _, q := range r {
			if q == v {
				return true
			}
		}
	}
	return false
}

func centroid(p orb.Polygon) (orb.Point, float64) {
	var x, y float64
	ring := p[0]
	for _, q := range ring[:len(ring)-1] {
		x += q[0]
		y += q[1]
	}
	n := float64(len(ring) - 1)
	return orb.Point{x / n, y / n}, n
}
