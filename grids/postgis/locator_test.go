package postgis_test

import (
	"context"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/grids/synth"
)

// Edits committed through SQL reach the Locator as patches over its index
// (no full rebuild), and after each one the patched view names the same
// owner as PostGIS for random points over the whole map and for points on
// the vertices of the edited grids.
func TestLocatorPatchesAgreeWithPostGIS(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	ctx := context.Background()
	pool := pgtest.New(t)
	lat := synth.Lattice{Origin: orb.Point{116.40, 39.90}, NX: 30, NY: 30, Cell: 0.0005, Jitter: 0.2,
		HoleEvery: 23, District: "110101", Street: "001", PerCommunity: 400}
	gs := lat.Grids(seed)
	if err := pgtest.CopyGrids(ctx, pool, gs); err != nil {
		t.Fatal(err)
	}
	st := postgis.NewStore(pool)
	loc := grids.NewLocator(st, nil)
	var mu sync.Mutex
	fulls, patches := 0, 0
	loc.Rebuilt = func(v *geo.View, full bool, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if full {
			fulls++
		} else {
			patches++
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go loc.Run(runCtx, 300*time.Millisecond) //nolint:errcheck

	ext := orb.Bound{Min: orb.Point{116.3995, 39.8995}, Max: orb.Point{116.4155, 39.9155}}
	waitFresh := func(what string) *geo.View {
		t.Helper()
		want, err := st.MapVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			if v := loc.Index(); v != nil && v.MapVersion() >= want {
				t.Logf("%s: fresh after %v (%d grids in the patch layer)", what, time.Since(start).Round(time.Millisecond), v.DeltaLen())
				return v
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: the index did not reach map version %d within 5 s", what, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	check := func(what string, v *geo.View, edited ...string) {
		t.Helper()
		var pts []orb.Point
		for i := 0; i < 20_000; i++ {
			pts = append(pts, orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])})
		}
		rows, err := pool.Query(ctx, `SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_DumpPoints(geom)).geom AS g FROM unit_grids WHERE code = ANY($1)) x`, edited)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var x, y float64
			if err := rows.Scan(&x, &y); err != nil {
				t.Fatal(err)
			}
			pts = append(pts, orb.Point{x, y})
		}
		rows.Close()
		want := oracleOwners(t, pool, pts)
		bad := 0
		for i, p := range pts {
			got := ""
			if id, ok := v.Owner(p); ok {
				got = string(v.Code(id))
			}
			if got != want[i] {
				if bad++; bad <= 5 {
					t.Errorf("%s: point %.17g,%.17g: view owner %q, PostGIS %q", what, p[0], p[1], got, want[i])
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%s: %d of %d points disagree", what, bad, len(pts))
		}
	}

	check("initial", waitFresh("initial"))
	a, b, c := string(gs[100].Code), string(gs[400].Code), string(gs[700].Code)
	edits := []struct {
		what, sql string
		codes     []string
	}{
		{"shift a grid east (overlap and gap)", `UPDATE unit_grids SET geom = ST_Translate(geom, 0.0001, 0) WHERE code = '` + a + `'`, []string{a}},
		{"retire a grid", `UPDATE unit_grids SET valid_to = now() WHERE code = '` + b + `'`, nil},
		{"new grid over others", `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			VALUES ('110101001009001', '110101001009', '110101001', '110101',
			        ST_GeomFromText('POLYGON((116.405 39.905, 116.4062 39.905, 116.4062 39.9061, 116.405 39.9061, 116.405 39.905))', 4326), 1)`, []string{"110101001009001"}},
		{"new version of a grid", `WITH old AS (UPDATE unit_grids SET valid_to = now() WHERE code = '` + c + `' AND valid_to IS NULL RETURNING *)
			INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2, version)
			SELECT code, community_code, street_code, district_code, ST_Scale(geom, 'POINT(1.00001 1.00001)'::geometry, ST_Centroid(geom)), area_m2, version + 1 FROM old`, []string{c}},
		{"delete a grid row", `DELETE FROM unit_grids WHERE code = '` + a + `'`, nil},
	}
	for _, e := range edits {
		if _, err := pool.Exec(ctx, e.sql); err != nil {
			t.Fatalf("%s: %v", e.what, err)
		}
		check(e.what, waitFresh(e.what), e.codes...)
	}
	mu.Lock()
	if fulls != 1 || patches < len(edits) {
		t.Errorf("%d full rebuilds and %d patches; want 1 full (the first load) and at least %d patches", fulls, patches, len(edits))
	}
	mu.Unlock()

	// Management-grid membership is part of the answer: a membership
	// change made by plain SQL reaches lookups, as a patch.
	d, e := string(gs[300].Code), string(gs[301].Code)
	mgmtOf := func(v *geo.View, code string) []string {
		t.Helper()
		var centre orb.Point
		for _, g := range gs {
			if string(g.Code) == code {
				centre, _ = planar.CentroidArea(g.Polygon)
			}
		}
		id, ok := v.Owner(centre)
		if !ok || string(v.Code(id)) != code {
			t.Fatalf("the centre of %s is not owned by it", code)
		}
		var out []string
		for _, m := range v.Info(id).Mgmt {
			out = append(out, m.Code)
		}
		return out
	}
	if _, err := pool.Exec(ctx, `WITH m AS (INSERT INTO mgmt_grids (code, name, street_code) VALUES ('M1', '一号责任网格', '110101001') RETURNING id)
		INSERT INTO mgmt_grid_members SELECT id, $1 FROM m`, d); err != nil {
		t.Fatal(err)
	}
	v := waitFresh("new management grid")
	if got := mgmtOf(v, d); !slices.Equal(got, []string{"M1"}) {
		t.Fatalf("grid %s: management grids %v, want [M1]", d, got)
	}
	mu.Lock()
	fullsBefore := fulls
	mu.Unlock()
	for _, step := range []struct {
		what, sql string
		d, e      []string
	}{
		{"add a member", `INSERT INTO mgmt_grid_members SELECT id, $1 FROM mgmt_grids WHERE code = 'M1'`, []string{"M1"}, []string{"M1"}},
		{"remove a member", `DELETE FROM mgmt_grid_members WHERE grid_code = $1`, []string{"M1"}, nil},
	} {
		if _, err := pool.Exec(ctx, step.sql, e); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		v := waitFresh(step.what)
		if got := mgmtOf(v, d); !slices.Equal(got, step.d) {
			t.Errorf("%s: grid %s has management grids %v, want %v", step.what, d, got, step.d)
		}
		if got := mgmtOf(v, e); !slices.Equal(got, step.e) {
			t.Errorf("%s: grid %s has management grids %v, want %v", step.what, e, got, step.e)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fulls != fullsBefore {
		t.Errorf("membership changes caused %d full rebuilds; want patches only", fulls-fullsBefore)
	}
}
