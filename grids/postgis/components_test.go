package postgis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/catalog"
	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// componentWorld is a small map: the divisions of baseFeatures and unit
// grids written with plain SQL, as the grid builder would:
//
//	110101001001001  116.400-116.405, 39.90-39.91
//	110101001001002  116.405-116.410, 39.90-39.91
//	110101001002001  116.400-116.410, 39.91-39.92
//	110102001001001  116.430-116.440, 39.90-39.91 (a second district)
func componentWorld(t *testing.T) (*postgis.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.New(t)
	st := postgis.NewStore(pool)
	ctx := context.Background()
	if _, err := importBytes(ctx, st, collection(baseFeatures()...)); err != nil {
		t.Fatal(err)
	}
	insertGrids(t, pool, map[string][4]float64{
		"110101001001001": {116.400, 39.90, 116.405, 39.91},
		"110101001001002": {116.405, 39.90, 116.410, 39.91},
		"110101001002001": {116.400, 39.91, 116.410, 39.92},
		"110102001001001": {116.430, 39.90, 116.440, 39.91},
	})
	return st, pool
}

// insertGrids writes the grids in one transaction, so that each community
// is covered exactly when the partition guard checks it at commit.
func insertGrids(t *testing.T, pool *pgxpool.Pool, gs map[string][4]float64) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	for code, r := range gs {
		_, err := tx.Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
			SELECT $1, left($1, 12), left($1, 9), left($1, 6), g, ST_Area(g::geography)
			FROM ST_MakeEnvelope($2, $3, $4, $5, 4326) g`, code, r[0], r[1], r[2], r[3])
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// pointFeature is a GeoJSON point feature with string properties.
func pointFeature(lon, lat float64, props ...string) string {
	var ps []string
	for i := 0; i+1 < len(props); i += 2 {
		ps = append(ps, fmt.Sprintf("%q:%q", props[i], props[i+1]))
	}
	return fmt.Sprintf(`{"type":"Feature","properties":{%s},"geometry":{"type":"Point","coordinates":[%v,%v]}}`,
		strings.Join(ps, ","), lon, lat)
}

func fc(features ...string) []byte {
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`)
}

// importComponents parses and imports a GeoJSON collection, passing parse
// rejections on to the store as the CLI does.
func importComponents(t *testing.T, st *postgis.Store, data []byte, mode grids.ImportMode) (grids.ComponentImportReport, error) {
	t.Helper()
	feats, rejected, err := grids.ParseComponentsGeoJSON(data, geo.WGS84)
	if err != nil {
		t.Fatal(err)
	}
	return st.ImportComponents(context.Background(), feats, grids.ComponentImport{
		Mode: mode, Actor: "test", Reason: "test import", Rejected: rejected})
}

// checkAssignment compares every component's grid with gridd_grid_at of its
// representative point, and the snapped ones with the nearest grid.
func checkAssignment(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT code, coalesce(grid_code, '-'), coalesce((gridd_component_grid(geom)).grid_code, '-')
		FROM components WHERE valid_to IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, got, want string
		if err := rows.Scan(&code, &got, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("component %s is in grid %s; PostGIS places it in %s", code, got, want)
		}
	}
}

func TestComponentImport(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	data := fc(
		pointFeature(116.402, 39.905, "class_code", "01001", "name", "供水井盖", "initial_date", "2024-05-01"),
		pointFeature(116.407, 39.905, "class_code", "01037", "status", "damaged"),
		// On the edge shared by the two grids of community 001: the smaller code owns it.
		pointFeature(116.405, 39.905, "class_code", "03005"),
		// 30 m west of the district: snapped into the nearest grid.
		pointFeature(116.40-0.00035, 39.905, "class_code", "03005"),
		`{"type":"Feature","properties":{"class_code":"04013","name":"绿地"},"geometry":{"type":"Polygon","coordinates":[[[116.404,39.908],[116.408,39.908],[116.408,39.912],[116.404,39.912],[116.404,39.908]]]}}`,
		`{"type":"Feature","properties":{"class_code":"02017"},"geometry":{"type":"LineString","coordinates":[[116.401,39.901],[116.409,39.901]]}}`,
	)
	rep, err := importComponents(t, st, data, grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 6 || rep.Snapped != 1 {
		t.Fatalf("report %+v, want 6 created, 1 snapped", rep)
	}
	checkAssignment(t, pool)
	want := map[int]string{0: "11010101001000001", 1: "11010101037000001", 2: "11010103005000001", 3: "11010103005000002"}
	for i, code := range want {
		if rep.Codes[i] != code {
			t.Errorf("feature %d got code %s, want %s", i, rep.Codes[i], code)
		}
	}
	edge, err := st.Component(ctx, rep.Codes[2])
	if err != nil {
		t.Fatal(err)
	}
	if edge.GridCode != "110101001001001" || edge.CommunityName != "多福巷社区" || edge.StreetName != "东华门街道" {
		t.Errorf("edge component: grid %s community %s street %s", edge.GridCode, edge.CommunityName, edge.StreetName)
	}
	snapped, _ := st.Component(ctx, rep.Codes[3])
	if !snapped.Snapped || snapped.SnapM < 25 || snapped.SnapM > 35 || snapped.GridCode != "110101001001001" {
		t.Errorf("snapped component: %+v", snapped)
	}
	poly, _ := st.Component(ctx, rep.Codes[4])
	if len(poly.Grids) != 3 {
		t.Errorf("polygon crosses grids %v, want all three of district 110101", poly.Grids)
	}
	line, _ := st.Component(ctx, rep.Codes[5])
	if strings.Join(line.Grids, ",") != "110101001001001,110101001001002" {
		t.Errorf("line crosses grids %v", line.Grids)
	}

	// The same file again changes nothing.
	rep2, err := importComponents(t, st, exportCodes(data, rep.Codes), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Created != 0 || rep2.Updated != 0 || rep2.Unchanged != 6 {
		t.Fatalf("re-import: %+v, want 6 unchanged", rep2)
	}
	// A changed status is one update, with before and after in the history.
	changed := strings.Replace(string(exportCodes(data, rep.Codes)), `"status":"damaged"`, `"status":"lost"`, 1)
	rep3, err := importComponents(t, st, []byte(changed), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	if rep3.Updated != 1 || rep3.Unchanged != 5 {
		t.Fatalf("changed import: %+v", rep3)
	}
	hs, err := st.ComponentHistory(ctx, rep.Codes[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[1].Action != "update" || hs[1].Before["status"] != "damaged" || hs[1].After["status"] != "lost" {
		t.Errorf("history: %+v", hs)
	}

	// Search.
	page, err := st.SearchComponents(ctx, grids.ComponentQuery{CodePrefix: "1101010300", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Components) != 1 || page.Next == "" {
		t.Fatalf("page 1: %d components, next %q", len(page.Components), page.Next)
	}
	page2, _ := st.SearchComponents(ctx, grids.ComponentQuery{CodePrefix: "1101010300", Limit: 1, After: page.Next})
	if len(page2.Components) != 1 || page2.Components[0].Code != rep.Codes[3] || page2.Next != "" {
		t.Errorf("page 2: %+v", page2)
	}
	byGrid, _ := st.SearchComponents(ctx, grids.ComponentQuery{GridCode: "110101001001002", ClassCode: "01037", Status: "lost"})
	if len(byGrid.Components) != 1 || byGrid.Components[0].Code != rep.Codes[1] {
		t.Errorf("by grid: %d components", len(byGrid.Components))
	}
}

// exportCodes puts the allocated codes into the features, as an export
// would, so that re-importing matches by code.
func exportCodes(data []byte, codes map[int]string) []byte {
	feats := strings.Split(string(data), `{"type":"Feature","properties":{`)
	for i := 1; i < len(feats); i++ {
		feats[i] = fmt.Sprintf(`"code":%q,`, codes[i-1]) + feats[i]
	}
	return []byte(strings.Join(feats, `{"type":"Feature","properties":{`))
}

func TestComponentRejections(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	// A component to delete, whose code must not come back.
	rep, err := importComponents(t, st, fc(pointFeature(116.402, 39.905, "class_code", "01002")), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	deleted := rep.Codes[0]
	if err := st.RetireComponent(ctx, deleted, 0, "test", "removed in the field"); err != nil {
		t.Fatal(err)
	}
	good := pointFeature(116.403, 39.906, "class_code", "01003")
	tests := []struct {
		name    string
		feature string
		reason  string
	}{
		{"unknown class", pointFeature(116.402, 39.905, "class_code", "01016"), "unknown component class 01016"},
		{"matter class", pointFeature(116.402, 39.905, "class_code", "06010"), "matter (event) class"},
		{"district part", pointFeature(116.402, 39.905, "code", "11010201001000005"), "district part 110102 but the component lies in district 110101"},
		{"class part", pointFeature(116.402, 39.905, "code", "11010101001000005", "class_code", "01002"), "class part 01001 but class_code is 01002"},
		{"outside", pointFeature(116.50, 39.95, "class_code", "01001"), "outside every unit grid: the nearest, 110102001001001"},
		{"bad date", pointFeature(116.402, 39.905, "class_code", "01001", "initial_date", "2024-13-45"), `initial_date: date "2024-13-45" is not a calendar day`},
		{"bad status", pointFeature(116.402, 39.905, "class_code", "01001", "status", "broken"), `status "broken" is not one of`},
		{"legacy without counterpart", pointFeature(116.402, 39.905, "legacy_code", "1101010601000001"), "legacy class 0601 重大危险源 has no counterpart"},
		{"legacy unknown class", pointFeature(116.402, 39.905, "legacy_code", "1101019901000001"), "9901 is not a CJ/T 214 component class"},
		{"legacy disagrees", pointFeature(116.402, 39.905, "legacy_code", "1101010101000001", "class_code", "01002"), "maps to 01001, but the class given is 01002"},
		{"legacy district", pointFeature(116.402, 39.905, "legacy_code", "1101020101000001"), "legacy code 1101020101000001 has district part 110102"},
		{"deleted code", pointFeature(116.402, 39.905, "code", deleted), "was deleted on"},
		{"lat lon swapped", pointFeature(39.905, 116.402, "class_code", "01001"), "looks like lat,lon"},
		{"no class", pointFeature(116.402, 39.905, "name", "x"), "no class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countRows(t, st)
			_, err := importComponents(t, st, fc(good, tt.feature), grids.AllOrNothing)
			var rej *grids.RejectedError
			if !errors.As(err, &rej) {
				t.Fatalf("got %v, want a rejection", err)
			}
			if len(rej.Rejected) != 1 || rej.Rejected[0].Index != 1 || !strings.Contains(rej.Rejected[0].Reason, tt.reason) {
				t.Fatalf("rejections %v, want feature 1: %s", rej.Rejected, tt.reason)
			}
			if after := countRows(t, st); after != before {
				t.Fatalf("a rejected all-or-nothing import wrote %d rows", after-before)
			}
			rep, err := importComponents(t, st, fc(good, tt.feature), grids.SkipInvalid)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Rejected) != 1 || rep.Created+rep.Unchanged != 1 {
				t.Fatalf("skip-invalid: %+v", rep)
			}
		})
	}
	t.Run("duplicate code in the file", func(t *testing.T) {
		f := pointFeature(116.402, 39.905, "code", "11010101001000100")
		_, err := importComponents(t, st, fc(f, f), grids.AllOrNothing)
		var rej *grids.RejectedError
		if !errors.As(err, &rej) || len(rej.Rejected) != 2 || !strings.Contains(rej.Rejected[0].Reason, "more than once") {
			t.Fatalf("got %v", err)
		}
	})
}

func countRows(t *testing.T, st *postgis.Store) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM components) + (SELECT count(*) FROM history)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLegacyImportCrosswalk(t *testing.T) {
	st, _ := componentWorld(t)
	csv := "legacy_code,class_code,name,lon,lat\n" +
		"1101010101000007,,上水井盖,116.401,39.901\n" + // 0101 上水井盖 → 01001 供水井盖 (renamed)
		"1101010118000123,,路灯,116.406,39.902\n" + // 0118 路灯 → 01037 (same name)
		"1101010117000001,01030,电力立杆,116.402,39.915\n" // 0117 立杆: split, class given
	feats, rejected, err := grids.ParseComponentsCSV(strings.NewReader(csv), geo.WGS84)
	if err != nil || len(rejected) > 0 {
		t.Fatal(err, rejected)
	}
	opt := grids.ComponentImport{Mode: grids.AllOrNothing, Actor: "test"}
	rep, err := st.ImportComponents(context.Background(), feats, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][2]string{
		0: {"11010101001000001", "1101010101000007"},
		1: {"11010101037000001", "1101010118000123"},
		2: {"11010101030000001", "1101010117000001"},
	}
	for i, w := range want {
		c, err := st.Component(context.Background(), rep.Codes[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.Code != w[0] || c.LegacyCode != w[1] {
			t.Errorf("row %d: code %s legacy %s, want %s %s", i, c.Code, c.LegacyCode, w[0], w[1])
		}
	}
	// Re-import matches by legacy code.
	feats, _, _ = grids.ParseComponentsCSV(strings.NewReader(csv), geo.WGS84)
	rep2, err := st.ImportComponents(context.Background(), feats, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Created != 0 || rep2.Unchanged != 3 {
		t.Errorf("re-import: %+v", rep2)
	}
}

// Eight writers allocate codes of one district and class at once: every code
// is unique, and codes of deleted components never come back.
func TestComponentCodesConcurrent(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	const writers, each = 8, 12
	var mu sync.Mutex
	seen := map[string]bool{}
	var problems []string
	round := 0
	create := func(t *testing.T) {
		round++
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					var feats []grids.ComponentFeature
					for k := 0; k <= i%3; k++ { // batches of 1-3, each at its own place
						f := grids.ComponentFeature{Index: k, ClassCode: "01001"}
						f.Geom = pt(116.401+float64(w)*0.001+float64(k)*0.0001, 39.901+float64(i)*0.0005+float64(round)*0.0001)
						if err := grids.CheckComponentFeature(&f); err != nil {
							t.Error(err)
							return
						}
						feats = append(feats, f)
					}
					rep, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Actor: fmt.Sprintf("writer%d", w)})
					mu.Lock()
					if err != nil {
						problems = append(problems, err.Error())
					}
					for _, c := range rep.Codes {
						if seen[c] {
							problems = append(problems, "code "+c+" handed out twice")
						}
						seen[c] = true
					}
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		if len(problems) > 0 {
			t.Fatal(strings.Join(problems, "\n"))
		}
	}
	create(t)
	first := len(seen)
	// Delete the highest codes, then allocate again.
	codes := make([]string, 0, len(seen))
	for c := range seen {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes[len(codes)-5:] {
		if err := st.RetireComponent(ctx, c, 0, "test", "test"); err != nil {
			t.Fatal(err)
		}
	}
	create(t)
	if len(seen) != 2*first {
		t.Fatalf("%d distinct codes after two rounds of %d", len(seen), first)
	}
	// The sequences are dense: 1..n, none skipped, none reused.
	for i, c := range append(codes, []string{}...) {
		if want := fmt.Sprintf("1101010100100%04d", i+1); c != want {
			t.Fatalf("code %d is %s, want %s", i, c, want)
		}
	}
}

// Rewriting the grids with plain SQL, as the builder or an editor would,
// re-assigns the components in the same transaction and records it.
func TestComponentReassignOnGridRewrite(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	rep, err := importComponents(t, st, fc(
		pointFeature(116.402, 39.902, "class_code", "01001"), // SW of community 001
		pointFeature(116.402, 39.908, "class_code", "01001"), // NW
		pointFeature(116.408, 39.908, "class_code", "01001"), // NE
		pointFeature(116.402, 39.915, "class_code", "01001"), // community 002
		pointFeature(116.435, 39.905, "class_code", "01001"), // district 110102
	), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	// Community 001 is rebuilt as a north and a south grid; the grid of
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
		   ('110101001001001', ST_MakeEnvelope(116.400, 39.900, 116.410, 39.905, 4326), 2),
		   ('110101001001003', ST_MakeEnvelope(116.400, 39.905, 116.410, 39.910, 4326), 1)) AS n(code, g, v)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// Not yet visible outside the transaction.
	var grid string
	if err := pool.QueryRow(ctx, `SELECT grid_code FROM components WHERE code = $1`, rep.Codes[1]).Scan(&grid); err != nil || grid != "110101001001001" {
		t.Fatalf("before commit: %s %v", grid, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	checkAssignment(t, pool)
	want := map[int]string{0: "110101001001001", 1: "110101001001003", 2: "110101001001003", 3: "110101001002001", 4: ""}
	for i, w := range want {
		c, err := st.Component(ctx, rep.Codes[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.GridCode != w {
			t.Errorf("component %d in grid %q, want %q", i, c.GridCode, w)
		}
	}
	hs, err := st.ComponentHistory(ctx, rep.Codes[1])
	if err != nil {
		t.Fatal(err)
	}
	last := hs[len(hs)-1]
	if len(hs) != 2 || last.Actor != "builder" || !strings.Contains(last.Reason, "unit grids changed") ||
		last.Before["grid_code"] != "110101001001001" || last.After["grid_code"] != "110101001001003" {
		t.Errorf("history %+v", hs)
	}
	if hs, _ := st.ComponentHistory(ctx, rep.Codes[0]); len(hs) != 1 {
		t.Errorf("an unmoved component got history: %+v", hs)
	}
	if hs, _ := st.ComponentHistory(ctx, rep.Codes[4]); len(hs) != 2 || !strings.Contains(hs[1].Reason, "outside every grid") || hs[1].Actor != "builder" {
		t.Errorf("orphaned component history: %+v", hs)
	}
	// A rolled-back rewrite moves nothing.
	tx, _ = pool.Begin(ctx)
	tx.Exec(ctx, `DELETE FROM unit_grids WHERE code = '110101001001003'`) //nolint:errcheck
	tx.Rollback(ctx)                                                      //nolint:errcheck
	checkAssignment(t, pool)
	// Moving the shared edge north, by a writer without an actor: recorded
	// as system.
	if _, err := pool.Exec(ctx, `UPDATE unit_grids SET geom = CASE code
			WHEN '110101001001001' THEN ST_MakeEnvelope(116.400, 39.900, 116.410, 39.909, 4326)
			ELSE ST_MakeEnvelope(116.400, 39.909, 116.410, 39.910, 4326) END
		WHERE code IN ('110101001001001', '110101001001003') AND valid_to IS NULL`); err != nil {
		t.Fatal(err)
	}
	hs, _ = st.ComponentHistory(ctx, rep.Codes[2])
	if last := hs[len(hs)-1]; last.Actor != "system" || last.After["grid_code"] != "110101001001001" {
		t.Errorf("component 2 after the edit: %+v", last)
	}
	checkAssignment(t, pool)
}

func pt(lon, lat float64) orb.Point { return orb.Point{lon, lat} }

// A deployment's extension classes count down from 999 in their major and
// are usable at once.
func TestLocalClasses(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	a, err := st.AddLocalClass(ctx, catalog.Component, "03", "共享充电宝柜", "test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.AddLocalClass(ctx, catalog.Component, "03", "智能垃圾分类箱", "test")
	if err != nil {
		t.Fatal(err)
	}
	if a.Code != "03999" || b.Code != "03998" || a.Standard != "local" || a.MajorName != "市容环卫设施" {
		t.Fatalf("local classes %+v %+v", a, b)
	}
	if _, err := st.AddLocalClass(ctx, catalog.Component, "42", "x", "test"); !errors.Is(err, grids.ErrNotFound) {
		t.Errorf("a class in a major that does not exist: %v", err)
	}
	rep, err := importComponents(t, st, fc(pointFeature(116.402, 39.905, "class_code", "03998")), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Codes[0] != "11010103998000001" {
		t.Errorf("component of a local class got %s", rep.Codes[0])
	}
	if std, _ := st.Classes(ctx, catalog.Component, "03"); len(std) != 18 {
		t.Errorf("major 03 lists %d classes, want 16 standard + 2 local", len(std))
	}
}

// A grid edit through the editor's changesets re-assigns the components it
// moves, recording the changeset.
func TestComponentReassignOnChangeset(t *testing.T) {
	st, pool := componentWorld(t)
	ctx := context.Background()
	rep, err := importComponents(t, st, fc(
		pointFeature(116.402, 39.915, "class_code", "03005"),
		pointFeature(116.408, 39.915, "class_code", "03005"),
	), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(map[string]any{"type": "LineString", "coordinates": [][2]float64{{116.405, 39.905}, {116.405, 39.925}}})
	var g geojson.Geometry
	if err := json.Unmarshal(line, &g); err != nil {
		t.Fatal(err)
	}
	cs, err := st.ApplyChangeset(ctx, "token:alice", grids.ChangesetRequest{Message: "split along the new lane",
		Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: "110101001002001", Version: 1}}, Line: &g}}})
	if err != nil {
		t.Fatal(err)
	}
	checkAssignment(t, pool)
	var moved int
	var actor string
	err = pool.QueryRow(ctx, `SELECT count(*), min(actor) FROM history
		WHERE entity = 'component' AND action = 'update' AND changeset_id = $1 AND code = ANY($2)`,
		cs.ID, []string{rep.Codes[0], rep.Codes[1]}).Scan(&moved, &actor)
	if err != nil {
		t.Fatal(err)
	}
	if moved != 1 || actor != "token:alice" {
		t.Errorf("changeset %d moved %d components (actor %q), want 1 by token:alice", cs.ID, moved, actor)
	}
}

// Routing reads a component's competent department from this table: a
// report about the component goes to it, and a deleted component routes no
// more.
func TestComponentCompetentDepartment(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	const water = "91110000802039437K"
	if _, err := st.PutDepartment(ctx, grids.Department{Code: water, Name: "北京市自来水集团"}, "test", "test"); err != nil {
		t.Fatal(err)
	}
	rep, err := importComponents(t, st, fc(pointFeature(116.402, 39.905, "class_code", "01001", "dept_code", water)), grids.AllOrNothing)
	if err != nil {
		t.Fatal(err)
	}
	code := rep.Codes[0]
	dep, ok, err := st.CompetentDepartment(ctx, code)
	if err != nil || !ok || dep.Code != water || dep.Name != "北京市自来水集团" {
		t.Fatalf("competent department of %s: %+v %v %v", code, dep, ok, err)
	}
	c, _ := st.Component(ctx, code)
	if c.DeptName != "北京市自来水集团" {
		t.Errorf("component's department name %q, want the department's", c.DeptName)
	}
	if err := st.RetireComponent(ctx, code, 0, "test", "removed"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.CompetentDepartment(ctx, code); ok || err != nil {
		t.Errorf("a deleted component still routes: %v %v", ok, err)
	}
}

// Two imports that move the same components across the map at the same
// time both complete: neither is failed as a deadlock.
func TestComponentImportsConcurrentMoves(t *testing.T) {
	st, _ := componentWorld(t)
	ctx := context.Background()
	const n = 3000
	feature := func(i int, shift float64) grids.ComponentFeature {
		f := grids.ComponentFeature{Index: i, ClassCode: []string{"01001", "02001", "03001"}[i%3]}
		f.Geom = pt(116.4006+float64(i%60)*0.00015+shift, 39.9005+float64(i/60)*0.0003)
		if err := grids.CheckComponentFeature(&f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	var feats []grids.ComponentFeature
	for i := range n {
		feats = append(feats, feature(i, 0))
	}
	rep, err := st.ImportComponents(ctx, feats, grids.ComponentImport{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	codes := rep.Codes
	// Each writer moves every component, one east and one west, in
	// opposite orders, round after round.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				var batch []grids.ComponentFeature
				for k := range n {
					i := k
					if w == 1 {
						i = n - 1 - k
					}
					f := feature(i, float64(1-2*w)*0.0001*float64(round+1))
					f.Index, f.Code = k, codes[i]
					batch = append(batch, f)
				}
				if _, err := st.ImportComponents(ctx, batch, grids.ComponentImport{Actor: fmt.Sprintf("writer%d", w)}); err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, round, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
