package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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

// buildingState is everything stored about buildings, to tell that a
// refused or dry-run import changed nothing.
func buildingState(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT
		coalesce((SELECT md5(string_agg(b::text, '|' ORDER BY b.id)) FROM buildings b), '') || ' ' ||
		coalesce((SELECT md5(string_agg(h::text, '|' ORDER BY h.id)) FROM history h WHERE h.entity = 'building'), '')`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// buildingID is the id of the current building with the name.
func buildingID(t *testing.T, pool *pgxpool.Pool, name string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM buildings WHERE valid_to IS NULL AND name = $1`, name).Scan(&id); err != nil {
		t.Fatalf("building %s: %v", name, err)
	}
	return id
}

// A second plain import of the same buildings is refused, each naming the
// stored building it duplicates; so is a building at the place of a stored
// one under another name, and a file repeating a building. A name given
// twice in a community identifies neither building.
func TestBuildingsImportRefusesDuplicates(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	if _, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "2025 census"); err != nil {
		t.Fatal(err)
	}
	before := buildingState(t, pool)

	_, again := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "2026 census")
	var re *grids.RejectedError
	if !errors.As(again, &re) || len(re.Rejected) != 5 {
		t.Fatalf("the same file again: %v", again)
	}
	rows, err := pool.Query(ctx, `SELECT name, id, grid_code, community_code FROM buildings ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var name, grid, comm string
		var id int64
		if err := rows.Scan(&name, &id, &grid, &comm); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("feature %d (code %s): duplicates building %d (%s, unit grid %s): the same name in community %s", i, name, id, name, grid, comm)
		if re.Rejected[i].String() != want {
			t.Errorf("rejection %d: %q, want %q", i, re.Rejected[i], want)
		}
		i++
	}
	rows.Close()
	if !strings.Contains(again.Error(), "building import rejected, nothing was written") || !strings.Contains(again.Error(), "import with --replace AREA") {
		t.Errorf("error %q: want the rejection and the re-survey hint", again)
	}
	if buildingState(t, pool) != before {
		t.Error("a refused import changed the buildings or their history")
	}

	// 1号楼's point under another name; two features 3 m apart; 2号楼 by
	// name far from where it is stored (names are unique on both sides).
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"一号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.401,39.901]}},
		{"type":"Feature","properties":{"楼栋号":"8号楼","户数":3,"人口":9},"geometry":{"type":"Point","coordinates":[116.403,39.907]}},
		{"type":"Feature","properties":{"楼栋号":"9号楼","户数":3,"人口":9},"geometry":{"type":"Point","coordinates":[116.403,39.907027]}},
		{"type":"Feature","properties":{"楼栋号":"2号楼","户数":3,"人口":9},"geometry":{"type":"Point","coordinates":[116.402,39.908]}}]}`
	_, err = st.ImportBuildings(ctx, readBuildings(t, file), "census", "test")
	if !errors.As(err, &re) || len(re.Rejected) != 3 {
		t.Fatalf("duplicates: %v", err)
	}
	var apart float64
	if err := pool.QueryRow(ctx, `SELECT round(ST_Distance('POINT(116.403 39.907)'::geography, 'POINT(116.403 39.907027)'::geography)::numeric, 1)`).Scan(&apart); err != nil {
		t.Fatal(err)
	}
	one, two := buildingID(t, pool, "1号楼"), buildingID(t, pool, "2号楼")
	for k, want := range []string{
		fmt.Sprintf("feature 0 (code 一号楼): duplicates building %d (1号楼, unit grid 110101001001001): their points are 0.0 m apart", one),
		fmt.Sprintf("feature 2 (code 9号楼): repeats feature 1 (8号楼) of the file: their points are %.1f m apart", apart),
		fmt.Sprintf("feature 3 (code 2号楼): duplicates building %d (2号楼, unit grid 110101001001001): the same name in community 110101001001", two),
	} {
		if re.Rejected[k].String() != want {
			t.Errorf("rejection %d: %q, want %q", k, re.Rejected[k], want)
		}
	}
	if apart < 2.5 || apart > grids.BuildingSameM {
		t.Errorf("the points are %.1f m apart: the test wants them within %.0f m", apart, grids.BuildingSameM)
	}
	if buildingState(t, pool) != before {
		t.Error("a refused import changed the buildings or their history")
	}

	// Two 1号楼 in community 110101001001 (two compounds): the name is not
	// unique in the file, so neither is taken for the stored 1号楼; then a
	// third, unique in its file but not among the three stored.
	for _, f := range []string{`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.402,39.903]}},
		{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.407,39.906]}}]}`,
		`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.403,39.904]}}]}`} {
		feats := readBuildings(t, f)
		if rep, err := st.ImportBuildings(ctx, feats, "census", "test"); err != nil || rep.Created != len(feats) {
			t.Fatalf("1号楼 of other compounds: %+v %v", rep, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM buildings WHERE valid_to IS NULL AND name = '1号楼' AND community_code = '110101001001'`).Scan(&n); err != nil || n != 4 {
		t.Errorf("%d 1号楼 in the community, want 4 (%v)", n, err)
	}
}

// resurveyFile re-surveys community 110101001001 of buildingFile (1号楼,
// 2号楼, 3号楼 and, added, 6号楼): 1号楼 as it is, 2号楼 re-counted,
// 3号楼 renamed (its footprint unchanged), 6号楼 gone, 7号楼 new.
const resurveyFile = `{"type":"FeatureCollection","features":[
	{"type":"Feature","properties":{"楼栋号":"1号楼","户数":10,"人口":25},"geometry":{"type":"Point","coordinates":[116.401,39.901]}},
	{"type":"Feature","properties":{"楼栋号":"2号楼","户数":9,"人口":22},"geometry":{"type":"Point","coordinates":[116.405,39.905]}},
	{"type":"Feature","properties":{"楼栋号":"3号楼A","户数":30,"人口":71},"geometry":{"type":"Polygon","coordinates":[[[116.4045,39.902],[116.4080,39.902],[116.4080,39.903],[116.4045,39.903],[116.4045,39.902]]]}},
	{"type":"Feature","properties":{"楼栋号":"7号楼","户数":16,"人口":40},"geometry":{"type":"Point","coordinates":[116.402,39.907]}}]}`

func TestBuildingsResurvey(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	if _, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "2025 census"); err != nil {
		t.Fatal(err)
	}
	six := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"6号楼","户数":4,"人口":8},"geometry":{"type":"Point","coordinates":[116.408,39.908]}}]}`
	if _, err := st.ImportBuildings(ctx, readBuildings(t, six), "census", "2025 census"); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, n := range []string{"1号楼", "2号楼", "3号楼", "4号楼", "5号楼", "6号楼"} {
		ids[n] = buildingID(t, pool, n)
	}
	opt := grids.BuildingReplace{Area: "110101001001", Actor: "surveyor", Reason: "2026 re-survey", DryRun: true}

	// A dry run reports and writes nothing.
	before := buildingState(t, pool)
	dry, err := st.ReplaceBuildings(ctx, readBuildings(t, resurveyFile), opt)
	if err != nil {
		t.Fatal(err)
	}
	if buildingState(t, pool) != before {
		t.Error("a dry run changed the buildings or their history")
	}
	if !dry.DryRun || dry.Created != 1 || dry.Updated != 2 || dry.Unchanged != 1 || dry.Retired != 1 {
		t.Errorf("dry run %+v", dry)
	}

	opt.DryRun = false
	rep, err := st.ReplaceBuildings(ctx, readBuildings(t, resurveyFile), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DryRun || rep.Created != 1 || rep.Updated != 2 || rep.Unchanged != 1 || rep.Retired != 1 || rep.Grids["110101001001001"] != 1 {
		t.Errorf("re-survey %+v", rep)
	}
	seven := buildingID(t, pool, "7号楼")
	wantChanges := []grids.BuildingChange{
		{Action: "retire", ID: ids["6号楼"], Index: -1, Name: "6号楼", Grid: "110101001001002"},
		{Action: "update", ID: ids["2号楼"], Index: 1, Name: "2号楼", Grid: "110101001001001", MatchedBy: "name", Changed: []string{"households", "residents"}},
		{Action: "update", ID: ids["3号楼"], Index: 2, Name: "3号楼A", Grid: "110101001001002", MatchedBy: "point", Changed: []string{"name"}},
		{Action: "create", ID: seven, Index: 3, Name: "7号楼", Grid: "110101001001001"},
	}
	if !reflect.DeepEqual(rep.Changes, wantChanges) {
		t.Errorf("changes\n%+v, want\n%+v", rep.Changes, wantChanges)
	}
	// The dry run reported the same, without the new building's id.
	wantChanges[3].ID = 0
	if !reflect.DeepEqual(dry.Changes, wantChanges) {
		t.Errorf("dry-run changes\n%+v, want\n%+v", dry.Changes, wantChanges)
	}

	// The counts in SQL: the area holds the file's four buildings, in
	// place, with the file's numbers; the others are untouched.
	var cur, inArea, retired, misplaced int
	var households, residents int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE valid_to IS NULL),
			count(*) FILTER (WHERE valid_to IS NULL AND grid_code LIKE '110101001001%'),
			count(*) FILTER (WHERE valid_to IS NOT NULL),
			count(*) FILTER (WHERE valid_to IS NULL AND grid_code IS DISTINCT FROM gridd_grid_at(ST_PointOnSurface(geom))),
			sum(households) FILTER (WHERE valid_to IS NULL AND grid_code LIKE '110101001001%'),
			sum(residents) FILTER (WHERE valid_to IS NULL AND grid_code LIKE '110101001001%')
		FROM buildings`).Scan(&cur, &inArea, &retired, &misplaced, &households, &residents); err != nil {
		t.Fatal(err)
	}
	if cur != 6 || inArea != 4 || retired != 1 || misplaced != 0 || households != 10+9+30+16 || residents != 25+22+71+40 {
		t.Errorf("%d current (%d in the area), %d retired, %d misplaced; the area %d households, %d residents", cur, inArea, retired, misplaced, households, residents)
	}
	var retiredID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM buildings WHERE valid_to IS NOT NULL`).Scan(&retiredID); err != nil || retiredID != ids["6号楼"] {
		t.Errorf("retired %d, want 6号楼 (%d): %v", retiredID, ids["6号楼"], err)
	}
	for _, n := range []string{"1号楼", "2号楼", "4号楼", "5号楼"} {
		if id := buildingID(t, pool, n); id != ids[n] {
			t.Errorf("%s is building %d, was %d", n, id, ids[n])
		}
	}
	if id := buildingID(t, pool, "3号楼A"); id != ids["3号楼"] {
		t.Errorf("3号楼A is building %d, want 3号楼's %d", id, ids["3号楼"])
	}

	// The history of the re-survey: an update of 2号楼 and 3号楼 with
	// before and after (after: the stored building), 6号楼's retirement
	// (the building retired),
	// 7号楼's creation; nothing for 1号楼.
	rows, err := pool.Query(ctx, `SELECT h.action, h.code, h.before->>'name', h.before->>'households', h.after->>'name', h.after->>'households',
			CASE WHEN h.action = 'retire' THEN h.after IS NULL AND EXISTS (SELECT 1 FROM buildings b WHERE b.id::text = h.code AND b.valid_to IS NOT NULL)
			     ELSE h.after = (SELECT gridd_building_json(b) FROM buildings b WHERE b.id::text = h.code AND b.valid_to IS NULL) END
		FROM history h WHERE h.entity = 'building' AND h.reason = '2026 re-survey' AND h.actor = 'surveyor' ORDER BY h.code::bigint`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, code string
		var bName, bHH, aName, aHH *string
		var afterIsStored bool
		if err := rows.Scan(&action, &code, &bName, &bHH, &aName, &aHH, &afterIsStored); err != nil {
			t.Fatal(err)
		}
		s := func(p *string) string {
			if p == nil {
				return "-"
			}
			return *p
		}
		got = append(got, fmt.Sprintf("%s %s %s/%s → %s/%s %v", action, code, s(bName), s(bHH), s(aName), s(aHH), afterIsStored))
	}
	rows.Close()
	want := []string{
		fmt.Sprintf("update %d 2号楼/7 → 2号楼/9 true", ids["2号楼"]),
		fmt.Sprintf("update %d 3号楼/30 → 3号楼A/30 true", ids["3号楼"]),
		fmt.Sprintf("retire %d 6号楼/4 → -/- true", ids["6号楼"]),
		fmt.Sprintf("create %d -/- → 7号楼/16 true", seven),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The same survey again changes nothing and records nothing.
	before = buildingState(t, pool)
	again, err := st.ReplaceBuildings(ctx, readBuildings(t, resurveyFile), opt)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created+again.Updated+again.Retired != 0 || again.Unchanged != 4 || len(again.Changes) != 0 {
		t.Errorf("the same survey again: %+v", again)
	}
	if buildingState(t, pool) != before {
		t.Error("an unchanged re-survey wrote")
	}

	// A year on: 7号楼 was measured 0.005° east, in the other grid; 1号楼
	// has a property manager.
	moved := strings.Replace(strings.Replace(resurveyFile, `[116.402,39.907]`, `[116.407,39.907]`, 1),
		`"楼栋号":"1号楼",`, `"楼栋号":"1号楼","物业":"乙",`, 1)
	rep, err = st.ReplaceBuildings(ctx, readBuildings(t, moved), opt)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges = []grids.BuildingChange{
		{Action: "update", ID: ids["1号楼"], Index: 0, Name: "1号楼", Grid: "110101001001001", MatchedBy: "name", Changed: []string{"attrs"}},
		{Action: "update", ID: seven, Index: 3, Name: "7号楼", Grid: "110101001001002", MatchedBy: "name", Changed: []string{"geometry", "grid"}},
	}
	if rep.Updated != 2 || rep.Unchanged != 2 || rep.Created+rep.Retired != 0 || !reflect.DeepEqual(rep.Changes, wantChanges) {
		t.Errorf("re-survey %+v", rep)
	}
	var grid, comm, histGrids, manager string
	if err := pool.QueryRow(ctx, `SELECT b.grid_code, b.community_code,
			(SELECT (h.before->>'grid_code') || ' → ' || (h.after->>'grid_code') FROM history h WHERE h.code = b.id::text ORDER BY h.id DESC LIMIT 1),
			(SELECT attrs->>'物业' FROM buildings WHERE id = $2)
		FROM buildings b WHERE b.id = $1 AND b.grid_code = gridd_grid_at(ST_PointOnSurface(b.geom))`, seven, ids["1号楼"]).Scan(&grid, &comm, &histGrids, &manager); err != nil {
		t.Fatal(err)
	}
	if grid != "110101001001002" || comm != "110101001001" || histGrids != "110101001001001 → 110101001001002" || manager != "乙" {
		t.Errorf("7号楼 in %s (%s), history %s; 1号楼's manager %q", grid, comm, histGrids, manager)
	}
}

// A re-survey refusing a building outside its area, or on a stored
// building outside it, or a bad area, writes nothing.
func TestBuildingsResurveyRejected(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	if _, err := st.ImportBuildings(ctx, readBuildings(t, buildingFile), "census", "2025 census"); err != nil {
		t.Fatal(err)
	}
	before := buildingState(t, pool)
	// Grid 110101001001002 re-surveyed: 3号楼 as stored; 4号楼 in
	// community 110101001002; 8号楼 just east of the boundary, in the
	// grid, by 2号楼 stored on the boundary and owned by grid 001.
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"3号楼","户数":30,"人口":71},"geometry":{"type":"Polygon","coordinates":[[[116.4045,39.902],[116.4080,39.902],[116.4080,39.903],[116.4045,39.903],[116.4045,39.902]]]}},
		{"type":"Feature","properties":{"楼栋号":"4号楼","户数":1,"人口":2},"geometry":{"type":"Point","coordinates":[116.4015,39.9115]}},
		{"type":"Feature","properties":{"楼栋号":"8号楼","户数":1,"人口":2},"geometry":{"type":"Point","coordinates":[116.40501,39.905]}}]}`
	rep, err := st.ReplaceBuildings(ctx, readBuildings(t, file), grids.BuildingReplace{Area: "110101001001002", Actor: "surveyor", Reason: "test"})
	var re *grids.RejectedError
	if !errors.As(err, &re) || len(re.Rejected) != 2 || len(rep.Rejected) != 2 || rep.Unchanged+rep.Created+rep.Updated+rep.Retired != 0 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	var apart float64
	if err := pool.QueryRow(ctx, `SELECT round(ST_Distance('POINT(116.40501 39.905)'::geography, 'POINT(116.405 39.905)'::geography)::numeric, 1)`).Scan(&apart); err != nil {
		t.Fatal(err)
	}
	for k, want := range []string{
		"feature 1 (code 4号楼): its point POINT(116.4015 39.9115) lies in unit grid 110101001002001, outside the re-surveyed area 110101001001002",
		fmt.Sprintf("feature 2 (code 8号楼): its point is %.1f m from building %d (2号楼) in unit grid 110101001001001, outside the re-surveyed area 110101001001002: re-survey an area holding both",
			apart, buildingID(t, pool, "2号楼")),
	} {
		if re.Rejected[k].String() != want {
			t.Errorf("rejection %d: %q, want %q", k, re.Rejected[k], want)
		}
	}
	if buildingState(t, pool) != before {
		t.Error("a refused re-survey changed the buildings or their history")
	}
	for _, area := range []string{"1101", "11010a", "110199"} {
		_, err := st.ReplaceBuildings(ctx, readBuildings(t, file), grids.BuildingReplace{Area: area, Actor: "surveyor"})
		if !errors.As(err, new(*grids.InvalidError)) || !strings.Contains(err.Error(), area) {
			t.Errorf("area %q: %v", area, err)
		}
	}
	if _, err := st.ReplaceBuildings(ctx, nil, grids.BuildingReplace{Area: "110101", Actor: "surveyor"}); !errors.As(err, new(*grids.InvalidError)) {
		t.Errorf("an empty file: %v", err)
	}
	if buildingState(t, pool) != before {
		t.Error("a refused re-survey changed the buildings or their history")
	}
}

// Buildings stored twice (by imports before duplicates were refused) are
// cleaned up by a re-survey: the names are no longer unique, so the file's
// buildings match by point, each the older copy; the newer are retired.
func TestBuildingsResurveyRetiresStoredCopies(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	feats := readBuildings(t, buildingFile)
	if _, err := st.ImportBuildings(ctx, feats, "census", "2025 census"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO buildings (name, households, residents, grid_code, community_code, street_code, district_code, geom, attrs)
		SELECT name, households, residents, grid_code, community_code, street_code, district_code, geom, attrs
		FROM buildings WHERE valid_to IS NULL ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	rep, err := st.ReplaceBuildings(ctx, feats[:3], grids.BuildingReplace{Area: "110101001001", Actor: "surveyor", Reason: "clean-up"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != 3 || rep.Retired != 3 || rep.Created+rep.Updated != 0 {
		t.Errorf("report %+v", rep)
	}
	// Kept: the lower id of each pair in the community; the other
	// communities keep both copies.
	var wrong, current int
	if err := pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE b.community_code = '110101001001' AND (b.valid_to IS NULL) <> (b.id = (SELECT min(c.id) FROM buildings c WHERE c.name = b.name))),
			count(*) FILTER (WHERE b.valid_to IS NULL)
		FROM buildings b`).Scan(&wrong, &current); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 || current != 7 {
		t.Errorf("%d buildings kept or retired wrongly, %d current (want 7)", wrong, current)
	}
}
