package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gridd/geo"
	"gridd/grids"
)

// buildingFile holds buildings over componentWorld's grids: points inside
// a grid and on the boundary two grids share, a footprint across that
// boundary, a MultiPolygon, and a building in the second district.
const buildingFile = `{"type":"FeatureCollection","features":[
	{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.401,39.901]}},
	{"type":"Feature","properties":{"楼栋号":"2号楼","户数":7,"人口":18},"geometry":{"type":"Point","coordinates":[116.405,39.905]}},
	{"type":"Feature","properties":{"楼栋号":"3号楼","户数":30,"人口":71},"geometry":{"type":"Polygon","coordinates":[[[116.4045,39.902],[116.4080,39.902],[116.4080,39.903],[116.4045,39.903],[116.4045,39.902]]]}},
	{"type":"Feature","properties":{"楼栋号":"4号楼","户数":0,"人口":0},"geometry":{"type":"MultiPolygon","coordinates":[[[[116.401,39.911],[116.402,39.911],[116.402,39.912],[116.401,39.912],[116.401,39.911]]]]}},
	{"type":"Feature","properties":{"楼栋号":"5号楼","户数":12,"人口":40,"物业":"甲"},"geometry":{"type":"Point","coordinates":[116.435,39.905]}}]}`

func readBuildings(t *testing.T, file string) []grids.BuildingFeature {
	t.Helper()
	feats, rejected, _, err := grids.ReadBuildingsGeoJSON([]byte(file), geo.WGS84, grids.FieldMap{})
	if err != nil || len(rejected) > 0 {
		t.Fatalf("read: %v %v", err, rejected)
	}
	return feats
}

func TestBuildingsImportAssignsAndTotals(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	rep, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "2026 building census")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 5 || len(rep.Rejected) != 0 {
		t.Fatalf("report %+v", rep)
	}
	// Every building is in the grid the single-owner rule gives its
	// representative point, computed here in SQL.
	var n, wrong int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE grid_code IS DISTINCT FROM gridd_grid_at(ST_PointOnSurface(geom))
			OR community_code <> left(grid_code, 12) OR street_code <> left(grid_code, 9) OR district_code <> left(grid_code, 6))
		FROM buildings WHERE valid_to IS NULL`).Scan(&n, &wrong); err != nil {
		t.Fatal(err)
	}
	if n != 5 || wrong != 0 {
		t.Errorf("%d buildings, %d not in the owner of their point", n, wrong)
	}
	// The boundary point goes to the smaller code, the footprint to the
	// grid holding most of it: spelled out, to catch a rule that changed
	// on both sides.
	want := map[string]string{"1号楼": "110101001001001", "2号楼": "110101001001001", "3号楼": "110101001001002",
		"4号楼": "110101001002001", "5号楼": "110102001001001"}
	rows, err := pool.Query(ctx, `SELECT name, grid_code FROM buildings`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, grid string
		if err := rows.Scan(&name, &grid); err != nil {
			t.Fatal(err)
		}
		if want[name] != grid {
			t.Errorf("%s in %s, want %s", name, grid, want[name])
		}
	}
	rows.Close()
	if rep.Grids["110101001001001"] != 2 || rep.Grids["110102001001001"] != 1 {
		t.Errorf("report per grid %v", rep.Grids)
	}
	var attrs string
	if err := pool.QueryRow(ctx, `SELECT attrs->>'物业' FROM buildings WHERE name = '5号楼'`).Scan(&attrs); err != nil || attrs != "甲" {
		t.Errorf("attrs %q, %v", attrs, err)
	}

	// The totals against a sum over the geometries, by the owner of each
	// point, independent of the stored grid codes.
	for _, area := range []string{"110101", "110101001001", "", "110102001001001"} {
		got, err := st.BuildingTotals(ctx, area)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := pool.Query(ctx, `SELECT u.code, count(b.id)::int, coalesce(sum(b.households), 0)::int, coalesce(sum(b.residents), 0)::int
			FROM unit_grids u LEFT JOIN buildings b ON gridd_grid_at(ST_PointOnSurface(b.geom)) = u.code
			WHERE u.valid_to IS NULL AND starts_with(u.code, $1) GROUP BY 1`, area)
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
		rows.Close()
		if len(got) != len(want) || len(want) == 0 {
			t.Errorf("area %q: totals %v, want %v", area, got, want)
		}
		for code, w := range want {
			if got[code] != w {
				t.Errorf("area %q grid %s: %+v, want %+v", area, code, got[code], w)
			}
		}
	}
	tot, _ := st.BuildingTotals(ctx, "110101")
	if tot["110101001001002"] != (grids.GridPopulation{Buildings: 1, Households: 30, Residents: 71}) ||
		tot["110101001002001"] != (grids.GridPopulation{Buildings: 1}) {
		t.Errorf("totals %v", tot)
	}
	if _, err := st.BuildingTotals(ctx, "1101'01"); !errors.As(err, new(*grids.InvalidError)) {
		t.Errorf("a bad area: %v", err)
	}

	// Each building's creation is in the history, with its grid.
	var h, hWrong int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE h.after->>'grid_code' IS DISTINCT FROM b.grid_code
			OR h.actor <> 'census' OR h.reason <> '2026 building census' OR h.action <> 'create')
		FROM history h JOIN buildings b ON h.code = b.id::text WHERE h.entity = 'building'`).Scan(&h, &hWrong); err != nil {
		t.Fatal(err)
	}
	if h != 5 || hWrong != 0 {
		t.Errorf("%d history rows, %d wrong", h, hWrong)
	}
}

func TestBuildingsImportRejectedWritesNothing(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	// A good building, one in no grid, and a self-intersecting footprint.
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.401,39.901]}},
		{"type":"Feature","properties":{"楼栋号":"野楼","户数":3,"人口":9},"geometry":{"type":"Point","coordinates":[116.5,39.95]}},
		{"type":"Feature","properties":{"楼栋号":"8字楼","户数":3,"人口":9},"geometry":{"type":"Polygon","coordinates":[[[116.401,39.901],[116.402,39.902],[116.402,39.901],[116.401,39.902],[116.401,39.901]]]}}]}`
	rep, err := st.ImportBuildings(ctx, readBuildings(t, file), "census", "test")
	var re *grids.RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("err %v, want a RejectedError", err)
	}
	if rep.Created != 0 || len(rep.Rejected) != 2 || len(re.Rejected) != 2 {
		t.Fatalf("report %+v, rejected %v", rep, re.Rejected)
	}
	msg := err.Error()
	for _, want := range []string{"building import rejected, nothing was written", "feature 1 (code 野楼): its point POINT(116.5 39.95) lies in no unit grid",
		"feature 2 (code 8字楼): geometry is not valid: Self-intersection"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q, want %q in it", msg, want)
		}
	}
	var b, h int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM buildings), (SELECT count(*) FROM history WHERE entity = 'building')`).Scan(&b, &h); err != nil {
		t.Fatal(err)
	}
	if b != 0 || h != 0 {
		t.Errorf("%d buildings and %d history rows stored after a rejection", b, h)
	}
	// The same connection imports again afterwards (the staging table
	// went with the rolled-back transaction).
	if rep, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "again"); err != nil || rep.Created != 5 {
		t.Errorf("import after a rejection: %+v %v", rep, err)
	}
}

// Rewriting the grids with plain SQL, as the builder or an editor would,
// re-places the buildings at commit and records each move.
func TestBuildingsReassignOnGridRewrite(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	if _, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "test"); err != nil {
		t.Fatal(err)
	}
	// Community 001 is rebuilt as a south and a north grid; the grid of
	// district 110102 is retired without replacement.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT set_config('gridd.actor', 'builder', true)`,
		`UPDATE unit_grids SET valid_to = now() WHERE valid_to IS NULL AND (community_code = '110101001001' OR code = '110102001001001')`,
		`INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2, version)
		 SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(g::geography), v FROM (VALUES
		   ('110101001001001', ST_MakeEnvelope(116.400, 39.900, 116.410, 39.9025, 4326), 2),
		   ('110101001001003', ST_MakeEnvelope(116.400, 39.9025, 116.410, 39.910, 4326), 1)) AS n(code, g, v)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var wrong int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM buildings
		WHERE grid_code IS DISTINCT FROM gridd_grid_at(ST_PointOnSurface(geom))
		   OR community_code IS DISTINCT FROM left(grid_code, 12) OR district_code IS DISTINCT FROM left(grid_code, 6)`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%d buildings not in the owner of their point after the rewrite", wrong)
	}
	want := map[string]string{"1号楼": "110101001001001", "2号楼": "110101001001003", "3号楼": "110101001001001",
		"4号楼": "110101001002001", "5号楼": ""}
	rows, err := pool.Query(ctx, `SELECT b.name, coalesce(b.grid_code, ''), count(h.id) FILTER (WHERE h.action = 'update'),
			coalesce(max(h.actor) FILTER (WHERE h.action = 'update'), '')
		FROM buildings b JOIN history h ON h.entity = 'building' AND h.code = b.id::text GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, grid, actor string
		var moves int
		if err := rows.Scan(&name, &grid, &moves, &actor); err != nil {
			t.Fatal(err)
		}
		moved := name == "2号楼" || name == "3号楼" || name == "5号楼"
		if grid != want[name] || moved != (moves == 1) || moved && actor != "builder" || moves > 1 {
			t.Errorf("%s: grid %q (want %q), %d moves recorded by %q", name, grid, want[name], moves, actor)
		}
	}
	// The totals are of the current grids (three now) and leave out the
	// building outside every grid.
	tot, err := st.BuildingTotals(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if tot["110101001001001"] != (grids.GridPopulation{Buildings: 2, Households: 40, Residents: 96}) ||
		tot["110101001001003"] != (grids.GridPopulation{Buildings: 1, Households: 7, Residents: 18}) || len(tot) != 3 {
		t.Errorf("totals %v", tot)
	}
}
