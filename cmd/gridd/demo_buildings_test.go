package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/ewkb"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

const demoDir = "../../testdata/dongcheng"

// demoBuildingsRun is a fresh database holding what gridd demo loads up to
// the buildings (its divisions, roads, grids and buildings; not the cases),
// and the output those steps wrote.
type demoBuildingsRun struct {
	t   *testing.T
	url string
	e   *env
	out *os.File
}

func newDemoBuildings(t *testing.T) *demoBuildingsRun {
	t.Helper()
	ctx := context.Background()
	out, _ := os.Create(filepath.Join(t.TempDir(), "stdout"))
	d := &demoBuildingsRun{t: t, url: pgtest.NewURL(t), e: &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}, out: out}
	_, err := loadDivisions(ctx, d.e, d.url, filepath.Join(demoDir, "divisions.geojson"), geo.WGS84, "demo", "demo data")
	d.step("divisions", err)
	d.step("grids", demoGrids(ctx, d.e, d.url, demoDir))
	d.step("buildings", demoBuildings(ctx, d.e, d.url, demoDir))
	return d
}

func (d *demoBuildingsRun) output() string { b, _ := os.ReadFile(d.out.Name()); return string(b) }

// step fails the test with the output written so far when a step failed.
func (d *demoBuildingsRun) step(name string, err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatalf("%s: %v\n%s", name, err, d.output())
	}
}

// The demo's building layer as gridd demo loads it (its divisions, roads
// and grids, then the buildings; not the cases): buildings in most grids
// clear of the parks, none meeting a park or site outline, every building in
// the grid owning its footprint, BuildingTotals equal to SQL sums per grid,
// a district total of the right order (it is 13,832 buildings, 262,261
// households, 695,131 residents), and a second run loading nothing.
func TestDemoBuildingsLoaded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo district's grids")
	}
	ctx := context.Background()
	d := newDemoBuildings(t)
	url := d.url
	d.step("buildings again", demoBuildings(ctx, d.e, url, demoDir))
	b := d.output()
	t.Logf("%s", b)
	if !strings.Contains(b, "buildings already loaded") {
		t.Errorf("the second run loaded the buildings again:\n%s", b)
	}

	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	if _, err := pool.Exec(ctx, `CREATE TEMP TABLE sites (name text, geom geometry)`); err != nil {
		t.Fatal(err)
	}
	for _, s := range grids.DemoNoBuildingSites {
		g, _ := ewkb.Marshal(s.Geom, 4326)
		if _, err := pool.Exec(ctx, `INSERT INTO sites VALUES ($1, ST_GeomFromEWKB($2))`, s.Name, g); err != nil {
			t.Fatal(err)
		}
	}
	var n, households, residents, inSites, misplaced, all, residential, withBuildings int
	err = pool.QueryRow(ctx, `
		SELECT count(*), coalesce(sum(households), 0), coalesce(sum(residents), 0),
		       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM sites s WHERE ST_Intersects(s.geom, b.geom))),
		       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM unit_grids u
		                        WHERE u.valid_to IS NULL AND u.code = b.grid_code AND ST_Covers(u.geom, b.geom)))
		FROM buildings b WHERE valid_to IS NULL`).Scan(&n, &households, &residents, &inSites, &misplaced)
	if err != nil {
		t.Fatal(err)
	}
	// Residential grids: most of their area outside the parks and sites,
	// and not slivers between roads.
	err = pool.QueryRow(ctx, `
		WITH g AS (
			SELECT u.code, ST_Area(u.geom::geography) AS m2,
			       coalesce((SELECT ST_Area(ST_Intersection(u.geom, ST_Union(s.geom))::geography)
			                 FROM sites s WHERE ST_Intersects(s.geom, u.geom)), 0) AS park_m2
			FROM unit_grids u WHERE u.valid_to IS NULL)
		SELECT (SELECT count(*) FROM g),
		       count(*),
		       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM buildings b WHERE b.valid_to IS NULL AND b.grid_code = g.code))
		FROM g WHERE park_m2 < 0.2 * m2 AND m2 > 5000`).Scan(&all, &residential, &withBuildings)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d buildings, %d households, %d residents; %d grids, %d residential, %d of them with buildings",
		n, households, residents, all, residential, withBuildings)
	if inSites > 0 || misplaced > 0 {
		t.Errorf("%d buildings meet a park or site, %d are not covered by their grid", inSites, misplaced)
	}
	if residents < 400_000 || residents > 1_000_000 {
		t.Errorf("%d residents in the demo district, want about 700,000", residents)
	}
	if withBuildings < residential*8/10 {
		t.Errorf("%d of %d residential grids have buildings, want most", withBuildings, residential)
	}

	totals, err := st.BuildingTotals(ctx, demoDistrict)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `
		SELECT u.code, count(b.id), coalesce(sum(b.households), 0), coalesce(sum(b.residents), 0)
		FROM unit_grids u LEFT JOIN buildings b ON b.grid_code = u.code AND b.valid_to IS NULL
		WHERE u.valid_to IS NULL GROUP BY u.code`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]grids.GridPopulation{}
	for rows.Next() {
		var code string
		var p grids.GridPopulation
		if err := rows.Scan(&code, &p.Buildings, &p.Households, &p.Residents); err != nil {
			t.Fatal(err)
		}
		want[code] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(totals) != len(want) {
		t.Errorf("BuildingTotals: %d grids, SQL %d", len(totals), len(want))
	}
	for code, w := range want {
		if totals[code] != w {
			t.Errorf("grid %s: BuildingTotals %+v, SQL %+v", code, totals[code], w)
		}
	}
}
