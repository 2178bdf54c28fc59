package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// twoBuildingGrids are two unit grids of one community side by side:
// 110101001007001 west of 110101001007002, each 0.001° square at
// 116.400-116.402, 39.900-39.901.
const twoBuildingGrids = `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
	SELECT code, left(code, 12), left(code, 9), left(code, 6), g, ST_Area(g::geography)
	FROM (VALUES ('110101001007001', ST_MakeEnvelope(116.400, 39.900, 116.401, 39.901, 4326)),
	             ('110101001007002', ST_MakeEnvelope(116.401, 39.900, 116.402, 39.901, 4326))) v (code, g)`

// A point in the west grid, one on the shared boundary (the smaller code
// owns it), and a footprint across the boundary, mostly in the east grid.
const buildingsGeoJSON = `{"type":"FeatureCollection","features":[
	{"type":"Feature","properties":{"楼栋号":"1号楼","户数":24,"人口":61},"geometry":{"type":"Point","coordinates":[116.4003,39.9004]}},
	{"type":"Feature","properties":{"楼栋号":"2号楼","户数":6,"人口":15},"geometry":{"type":"Point","coordinates":[116.401,39.9005]}},
	{"type":"Feature","properties":{"楼栋号":"3号楼","户数":40,"人口":102},"geometry":{"type":"Polygon","coordinates":[[[116.4008,39.9002],[116.4016,39.9002],[116.4016,39.9006],[116.4008,39.9006],[116.4008,39.9002]]]}}]}`

// A census spreadsheet: Chinese headers, one building per row.
const buildingsCSV = "经度,纬度,楼栋号,户数,人口,备注\n" +
	"116.4002,39.9008,5号楼,18,44,\n" +
	"116.4017,39.9003,6号楼,32,80,新建\n" +
	"116.4019,39.9009,7号楼,0,0,空置\n"

// buildingDB is a fresh database holding twoBuildingGrids; it returns its
// URL and a pool on it.
func buildingDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), twoBuildingGrids); err != nil {
		t.Fatal(err)
	}
	return url, pool
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkBuildingsInDB checks that the database holds n current buildings,
// each in the grid gridd_grid_at gives its representative point, and that
// the store's totals equal sums computed in SQL from the geometries.
func checkBuildingsInDB(t *testing.T, url string, pool *pgxpool.Pool, n int) map[string]grids.GridPopulation {
	t.Helper()
	ctx := context.Background()
	var got, wrong int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE grid_code IS DISTINCT FROM gridd_grid_at(ST_PointOnSurface(geom)))
		FROM buildings WHERE valid_to IS NULL`).Scan(&got, &wrong); err != nil {
		t.Fatal(err)
	}
	if got != n || wrong != 0 {
		t.Errorf("%d buildings (want %d), %d not in the grid owning their point", got, n, wrong)
	}
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	totals, err := st.BuildingTotals(ctx, "110101001007")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT u.code, count(b.id)::int, coalesce(sum(b.households), 0)::int, coalesce(sum(b.residents), 0)::int
		FROM unit_grids u LEFT JOIN buildings b ON b.valid_to IS NULL AND ST_Covers(u.geom, ST_PointOnSurface(b.geom))
		     AND gridd_grid_at(ST_PointOnSurface(b.geom)) = u.code
		GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var code string
		var p grids.GridPopulation
		if err := rows.Scan(&code, &p.Buildings, &p.Households, &p.Residents); err != nil {
			t.Fatal(err)
		}
		seen++
		if totals[code] != p {
			t.Errorf("grid %s: totals %+v, SQL %+v", code, totals[code], p)
		}
	}
	if seen != 2 || len(totals) != 2 {
		t.Errorf("totals %v, want the two grids", totals)
	}
	return totals
}

func TestImportBuildingsCommand(t *testing.T) {
	url, pool := buildingDB(t)
	out, err := importCmd(t, "buildings", "--db", url, "--actor", "census", writeTemp(t, "buildings.geojson", buildingsGeoJSON))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"name ← 楼栋号", "households ← 户数", "residents ← 人口", "3 buildings created in 2 unit grids"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q, want %q in it", out, want)
		}
	}
	checkBuildingsInDB(t, url, pool, 3)

	out, err = importCmd(t, "buildings", "--db", url, writeTemp(t, "楼栋.csv", buildingsCSV))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "kept as attrs: 备注") || !strings.Contains(out, "3 buildings created") {
		t.Errorf("output %q", out)
	}
	totals := checkBuildingsInDB(t, url, pool, 6)
	// Spelled out as well: 1号楼, 2号楼 (on the boundary), 5号楼 west;
	// 3号楼 (mostly east), 6号楼, 7号楼 east.
	if totals["110101001007001"] != (grids.GridPopulation{Buildings: 3, Households: 48, Residents: 120}) ||
		totals["110101001007002"] != (grids.GridPopulation{Buildings: 3, Households: 72, Residents: 182}) {
		t.Errorf("totals %+v", totals)
	}
	var note string
	if err := pool.QueryRow(context.Background(), `SELECT attrs->>'备注' FROM buildings WHERE name = '6号楼'`).Scan(&note); err != nil || note != "新建" {
		t.Errorf("attrs 备注 %q, %v", note, err)
	}
}

func TestImportBuildingsBadInput(t *testing.T) {
	url, pool := buildingDB(t)
	count := func() (b, h int) {
		t.Helper()
		if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM buildings),
			(SELECT count(*) FROM history WHERE entity = 'building')`).Scan(&b, &h); err != nil {
			t.Fatal(err)
		}
		return b, h
	}
	for _, c := range []struct {
		name, file string
		want       []string
	}{
		{"a row outside every grid", "经度,纬度,楼栋号,户数,人口\n116.4002,39.9008,5号楼,18,44\n116.4100,39.9008,远楼,3,9\n",
			[]string{"nothing was written", "feature 1 (code 远楼): row 1 (line 3): its point POINT(116.41 39.9008) lies in no unit grid"}},
		{"a negative count", "经度,纬度,楼栋号,户数,人口\n116.4002,39.9008,5号楼,-18,44\n",
			[]string{"nothing was written", "feature 0 (code 5号楼): row 0 (line 2): households (property 户数) \"-18\": must not be negative"}},
		{"no count column", "经度,纬度,楼栋号\n116.4002,39.9008,5号楼\n",
			[]string{"no property is recognised as households (户数) or residents (人口)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := importCmd(t, "buildings", "--db", url, writeTemp(t, "bad.csv", c.file))
			if err == nil {
				t.Fatalf("imported: %s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want %q in it", err, w)
				}
			}
			if b, h := count(); b != 0 || h != 0 {
				t.Errorf("%d buildings and %d history rows stored", b, h)
			}
		})
	}
}

func TestImportBuildingsFromGISFormats(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	src := writeTemp(t, "buildings.geojson", buildingsGeoJSON)
	// A GeoPackage in Gauss-Kruger CM 117E, as a surveying office delivers
	// footprints, and the CSV's rows as X and Y in metres.
	gpkg := filepath.Join(dir, "楼栋.gpkg")
	gdal(t, "-f", "GPKG", "-t_srs", "EPSG:4548", "-nln", "楼栋", gpkg, src)
	csvSrc := writeTemp(t, "wgs.csv", buildingsCSV)
	csv := filepath.Join(dir, "metres.csv")
	gdal(t, "-f", "CSV", "-lco", "GEOMETRY=AS_XY", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:4548", "-oo", "X_POSSIBLE_NAMES=经度",
		"-oo", "Y_POSSIBLE_NAMES=纬度", "-oo", "KEEP_GEOM_COLUMNS=NO", csv, csvSrc)

	url, pool := buildingDB(t)
	for _, args := range [][]string{{gpkg}, {"--crs", "EPSG:4548", csv}} {
		out, err := importCmd(t, append([]string{"buildings", "--db", url}, args...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "EPSG:4548") || !strings.Contains(out, "3 buildings created") {
			t.Errorf("output %q", out)
		}
	}
	totals := checkBuildingsInDB(t, url, pool, 6)
	if totals["110101001007001"] != (grids.GridPopulation{Buildings: 3, Households: 48, Residents: 120}) ||
		totals["110101001007002"] != (grids.GridPopulation{Buildings: 3, Households: 72, Residents: 182}) {
		t.Errorf("totals %+v", totals)
	}
	// The footprint came back within 0.05 m of the source.
	var far float64
	if err := pool.QueryRow(context.Background(), `SELECT ST_HausdorffDistance(ST_Transform(geom, 4548),
			ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 4548)) FROM buildings WHERE name = '3号楼'`,
		`{"type":"Polygon","coordinates":[[[116.4008,39.9002],[116.4016,39.9002],[116.4016,39.9006],[116.4008,39.9006],[116.4008,39.9002]]]}`).Scan(&far); err != nil {
		t.Fatal(err)
	}
	if far > 0.05 {
		t.Errorf("3号楼 is %.3f m from the source", far)
	}
}

// A community re-surveys its buildings: the same file imported again is
// refused, naming the stored buildings and --replace; a dry run of the
// re-survey reports and writes nothing; the re-survey updates 1号楼's
// counts, keeps 3号楼, retires 2号楼 (not in the survey) and creates 8号楼.
func TestImportBuildingsResurveyCommand(t *testing.T) {
	url, pool := buildingDB(t)
	ctx := context.Background()
	first := writeTemp(t, "buildings.geojson", buildingsGeoJSON)
	if out, err := importCmd(t, "buildings", "--db", url, "--actor", "census", first); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	state := func() string {
		t.Helper()
		var s string
		if err := pool.QueryRow(ctx, `SELECT coalesce(md5(string_agg(b::text, '|' ORDER BY b.id)), '') || ' ' ||
				(SELECT count(*) FROM history WHERE entity = 'building') FROM buildings b`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	ids := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT name, id FROM buildings`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		var id int64
		if err := rows.Scan(&n, &id); err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	rows.Close()
	before := state()

	out, err := importCmd(t, "buildings", "--db", url, first)
	if err == nil {
		t.Fatalf("the same file imported twice: %s", out)
	}
	t.Logf("%v", err)
	for _, want := range []string{"building import rejected, nothing was written; 3 feature(s) refused",
		fmt.Sprintf("feature 0 (code 1号楼): duplicates building %d (1号楼, unit grid 110101001007001): the same name in community 110101001007", ids["1号楼"]),
		fmt.Sprintf("feature 2 (code 3号楼): duplicates building %d (3号楼, unit grid 110101001007002)", ids["3号楼"]),
		"import with --replace AREA"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want %q in it", err, want)
		}
	}
	if state() != before {
		t.Error("a refused import wrote")
	}

	survey := writeTemp(t, "survey.geojson", `{"type":"FeatureCollection","features":[
	{"type":"Feature","properties":{"楼栋号":"1号楼","户数":30,"人口":75},"geometry":{"type":"Point","coordinates":[116.4003,39.9004]}},
	{"type":"Feature","properties":{"楼栋号":"3号楼","户数":40,"人口":102},"geometry":{"type":"Polygon","coordinates":[[[116.4008,39.9002],[116.4016,39.9002],[116.4016,39.9006],[116.4008,39.9006],[116.4008,39.9002]]]}},
	{"type":"Feature","properties":{"楼栋号":"8号楼","户数":12,"人口":30},"geometry":{"type":"Point","coordinates":[116.4015,39.9008]}}]}`)
	out, err = importCmd(t, "buildings", "--db", url, "--replace", "110101001007", "--dry-run", survey)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{"dry run, nothing written: re-surveying 110101001007 from " + survey + " would give 1 created, 1 updated, 1 unchanged, 1 retired",
		fmt.Sprintf("retire  building %d 2号楼 in 110101001007001: not in the file", ids["2号楼"]),
		fmt.Sprintf("update  building %d 1号楼 in 110101001007001 from feature 0 (matched by name): households, residents", ids["1号楼"]),
		"create  a new building 8号楼 in 110101001007002 from feature 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q, want %q in it", out, want)
		}
	}
	if state() != before {
		t.Error("a dry run wrote")
	}

	out, err = importCmd(t, "buildings", "--db", url, "--actor", "surveyor", "--reason", "2026 re-survey", "--replace", "110101001007", survey)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "re-surveyed 110101001007 from " + survey + ": 1 created, 1 updated, 1 unchanged, 1 retired"; !strings.Contains(out, want) {
		t.Errorf("output %q, want %q in it", out, want)
	}
	totals := checkBuildingsInDB(t, url, pool, 3)
	var hh, res int
	if err := pool.QueryRow(ctx, `SELECT sum(households), sum(residents) FROM buildings WHERE valid_to IS NULL`).Scan(&hh, &res); err != nil {
		t.Fatal(err)
	}
	if hh != 30+40+12 || res != 75+102+30 || totals["110101001007001"].Buildings != 1 || totals["110101001007002"].Buildings != 2 {
		t.Errorf("%d households, %d residents; totals %+v", hh, res, totals)
	}
	var retired int64
	var before1, after1 string
	if err := pool.QueryRow(ctx, `SELECT (SELECT id FROM buildings WHERE valid_to IS NOT NULL),
			(SELECT before->>'households' || '/' || (after->>'households') FROM history WHERE action = 'update' AND code = $1 AND actor = 'surveyor'),
			(SELECT string_agg(action || ' ' || (before->>'name'), ',') FROM history WHERE action = 'retire' AND reason = '2026 re-survey')`,
		fmt.Sprint(ids["1号楼"])).Scan(&retired, &before1, &after1); err != nil {
		t.Fatal(err)
	}
	if retired != ids["2号楼"] || before1 != "24/30" || after1 != "retire 2号楼" {
		t.Errorf("retired %d (want 2号楼's %d), 1号楼's households %s in the history, %s", retired, ids["2号楼"], before1, after1)
	}

	// A building outside the re-surveyed grid, and --dry-run alone.
	before = state()
	_, err = importCmd(t, "buildings", "--db", url, "--replace", "110101001007001", survey)
	if err == nil || !strings.Contains(err.Error(), "feature 1 (code 3号楼): its point POINT(116.4012 39.9004) lies in unit grid 110101001007002, outside the re-surveyed area 110101001007001") {
		t.Errorf("a building outside the area: %v", err)
	}
	if _, err := importCmd(t, "buildings", "--db", url, "--dry-run", survey); err == nil || !strings.Contains(err.Error(), "--dry-run goes with --replace") {
		t.Errorf("--dry-run without --replace: %v", err)
	}
	if state() != before {
		t.Error("a refused re-survey wrote")
	}
}

// The demo's buildings against the duplicate rule: its names repeat within
// communities (N号楼 is numbered per grid), so they identify nothing and the
// demo loads by place; loading it again is refused building by building,
// and a re-survey of the district with the same buildings matches every one
// by place and changes nothing.
func TestDemoBuildingsResurvey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo district's grids")
	}
	ctx := context.Background()
	d := newDemoBuildings(t)
	st, err := postgis.Open(ctx, d.url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	// The closest representative points: each point's nearest by the
	// index, then measured on the spheroid.
	var n int
	var closest float64
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE pts ON COMMIT DROP AS SELECT id, ST_PointOnSurface(geom) AS pt FROM buildings WHERE valid_to IS NULL;
		CREATE INDEX ON pts USING gist (pt); ANALYZE pts`); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM pts), min(d) FROM pts a CROSS JOIN LATERAL (
			SELECT ST_Distance(a.pt::geography, b.pt::geography) AS d FROM pts b WHERE b.id <> a.id ORDER BY a.pt <-> b.pt LIMIT 3) x`).Scan(&n, &closest); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx) //nolint:errcheck
	t.Logf("%d buildings, the closest points %.1f m apart", n, closest)
	if n != 13832 || closest <= grids.BuildingSameM {
		t.Fatalf("%d demo buildings (want 13,832), closest points %.1f m apart", n, closest)
	}
	shapes, err := st.GridShapes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roads, err := readLines(filepath.Join(demoDir, "roads.geojson"), geo.WGS84)
	if err != nil {
		t.Fatal(err)
	}
	feats := grids.DemoBuildings(shapes, roads, demoCensusSeed)
	before := time.Now()
	_, err = st.ImportBuildings(ctx, feats, "demo", "again")
	var re *grids.RejectedError
	if !errors.As(err, &re) || len(re.Rejected) != n {
		t.Fatalf("the demo loaded again: %v rejections, %.300v", len(re.Rejected), err)
	}
	t.Logf("refused in %v", time.Since(before))
	before = time.Now()
	rep, err := st.ReplaceBuildings(ctx, feats, grids.BuildingReplace{Area: demoDistrict, Actor: "demo", Reason: "re-survey"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("re-surveyed in %v", time.Since(before))
	var h int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM history WHERE entity = 'building' AND reason = 're-survey'`).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != n || rep.Created+rep.Updated+rep.Retired != 0 || h != 0 {
		t.Errorf("re-survey %d created, %d updated, %d unchanged, %d retired; %d history rows", rep.Created, rep.Updated, rep.Unchanged, rep.Retired, h)
	}
}
