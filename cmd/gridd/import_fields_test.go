package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
)

// runCaptured runs a gridd command and returns what it printed.
func runCaptured(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	defer out.Close()
	defer errf.Close()
	e := &env{stdout: out, stderr: errf}
	err = runImport(context.Background(), e, args)
	o, _ := os.ReadFile(out.Name())
	s, _ := os.ReadFile(errf.Name())
	return string(o), string(s), err
}

// renamedDivisions writes the Dongcheng divisions with their properties
// renamed as a district's GIS files name them: code → codeProp (community
// codes as JSON numbers, as a DBF numeric field comes out), name →
// nameProp, plus two properties gridd has no field for.
func renamedDivisions(t *testing.T, codeProp, nameProp string) string {
	t.Helper()
	data, err := os.ReadFile("../../testdata/dongcheng/divisions.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type       string            `json:"type"`
			Properties map[string]string `json:"properties"`
			Geometry   json.RawMessage   `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fc.Features {
		if i > 0 {
			b.WriteString(",\n")
		}
		code, _ := json.Marshal(f.Properties["code"])
		if len(f.Properties["code"]) == 12 {
			code = []byte(f.Properties["code"]) // a number
		}
		name, _ := json.Marshal(f.Properties["name"])
		fmt.Fprintf(&b, `{"type":"Feature","properties":{%q:%s,%q:%s,"SHAPE_Area":%d.5,"备注":"第%d条"},"geometry":%s}`,
			codeProp, code, nameProp, name, i, i, f.Geometry)
	}
	b.WriteString("]}")
	path := filepath.Join(t.TempDir(), "divisions.geojson")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportWithFieldMapping(t *testing.T) {
	url := pgtest.NewURL(t)
	ctx := context.Background()

	// Divisions with XZQDM/XZQMC, recognised without flags.
	stdout, _, err := runCaptured(t, "divisions", "--db", url, renamedDivisions(t, "XZQDM", "XZQMC"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "field mapping: code ← XZQDM, name ← XZQMC; kept as attrs: SHAPE_Area, 备注") ||
		!strings.Contains(stdout, "187 created") {
		t.Errorf("stdout:\n%s", stdout)
	}
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	var n int
	var name, attrs string
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE attrs ? '备注'), min(name) FILTER (WHERE code = '110101001001'),
			max(attrs::text) FILTER (WHERE code = '110101001001')
		FROM communities WHERE valid_to IS NULL AND code ~ '^[0-9]{12}$'`).Scan(&n, &name, &attrs); err != nil {
		t.Fatal(err)
	}
	var fromFile int
	pool.QueryRow(ctx, `SELECT count(*) FROM communities`).Scan(&fromFile) //nolint:errcheck
	if n != fromFile || n < 100 || name == "" {
		t.Errorf("%d of %d communities with attrs, 110101001001 named %q", n, fromFile, name)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(attrs), &a); err != nil || len(a) != 2 || !strings.HasSuffix(fmt.Sprint(a["SHAPE_Area"]), ".5") {
		t.Errorf("attrs of 110101001001: %s", attrs)
	}
	var districtAttrs string
	pool.QueryRow(ctx, `SELECT attrs::text FROM districts WHERE code = '110101'`).Scan(&districtAttrs) //nolint:errcheck
	if districtAttrs != `{"备注": "第0条", "SHAPE_Area": 0.5}` {
		t.Errorf("district attrs %s", districtAttrs)
	}

	// The same divisions under names only --field can tell: nothing
	// changes. A --field for a property no feature has is refused.
	other := renamedDivisions(t, "DM", "MC")
	if _, _, err := runCaptured(t, "divisions", "--db", url, "--field", "code=XZQDM", other); err == nil ||
		!strings.Contains(err.Error(), "no feature has a property XZQDM") {
		t.Errorf("missing property: %v", err)
	}
	if _, _, err := runCaptured(t, "divisions", "--db", url, "--field", "status=DM", other); err == nil ||
		!strings.Contains(err.Error(), "a division has no field status") {
		t.Errorf("unknown field: %v", err)
	}
	stdout, _, err = runCaptured(t, "divisions", "--db", url, "--field", "code=DM", "--field", "name=mc", other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "code ← DM, name ← MC") || !strings.Contains(stdout, "0 created, 0 updated, 187 unchanged") {
		t.Errorf("stdout:\n%s", stdout)
	}

	// Lines under the names of a road file: 编号, 道路等级, 道路名称.
	roads := filepath.Join(t.TempDir(), "roads.geojson")
	if err := os.WriteFile(roads, []byte(`{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"编号":7,"道路等级":"主干路","道路名称":"东单北大街","路宽":40},
		 "geometry":{"type":"LineString","coordinates":[[116.41,39.90],[116.41,39.92]]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runCaptured(t, "lines", "--db", url, roads)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	pool.QueryRow(ctx, `SELECT concat_ws('|', layer, source_id, class, name, attrs::text) FROM lines`).Scan(&line) //nolint:errcheck
	if !strings.Contains(stdout, "field mapping: id ← 编号, class ← 道路等级, name ← 道路名称; kept as attrs: 路宽") ||
		line != `roads|7|主干路|东单北大街|{"路宽": 40}` {
		t.Errorf("line %q, stdout:\n%s", line, stdout)
	}

	// Components as a census writes them, over one grid covering a
	// community.
	var community string
	if err := pool.QueryRow(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT code || '001', code, left(code, 9), left(code, 6), ST_GeometryN(geom, 1), ST_Area(geom::geography)
		FROM communities WHERE code = '110101001001' AND ST_NumGeometries(geom) = 1 RETURNING community_code`).Scan(&community); err != nil {
		t.Fatal(err)
	}
	var lon, lat float64
	pool.QueryRow(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM unit_grids) x`).Scan(&lon, &lat) //nolint:errcheck
	pt := fmt.Sprintf(`{"type":"Point","coordinates":[%.7f,%.7f]}`, lon, lat)
	comps := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"部件代码":1001,"部件名称":"上水井盖","部件名":"x","状态":"完好","初始日期":"2023/5/1","变更日期":20230601,
			"主管部门":"区水务局","权属单位":"自来水公司","养护单位":"养护中心","数据来源":"实测","备注":"北口","普查编号":"A-17"},"geometry":` + pt + `},
		{"type":"Feature","properties":{"部件代码":"0102","部件名称":"污水井盖","状态":"破损","初始日期":"2023-05-01","普查编号":18},"geometry":` + pt + `}]}`
	path := filepath.Join(t.TempDir(), "components.geojson")
	if err := os.WriteFile(path, []byte(comps), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCaptured(t, "components", "--db", url, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"code/legacy_code/class_code (by length) ← 部件代码", "name ← 部件名称", "status ← 状态",
		"dept_name ← 主管部门", "kept as attrs: 部件名, 普查编号", "2 created"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "warning: property 部件名 looks like 部件名称") {
		t.Errorf("stderr:\n%s", stderr)
	}
	rows, err := pool.Query(ctx, `SELECT class_code, name, status, initial_date::text, coalesce(change_date::text, ''), competent_dept_name,
			owner_unit, maint_unit, data_source, note, grid_code, attrs::text
		FROM components ORDER BY name DESC`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var r [12]string
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8], &r[9], &r[10], &r[11]); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join(r[:], "|"))
	}
	grid := community + "001"
	want := []string{
		strings.Join([]string{"01002", "污水井盖", "damaged", "2023-05-01", "", "", "", "", "surveyed", "", grid, `{"普查编号": 18}`}, "|"),
		strings.Join([]string{"01001", "上水井盖", "intact", "2023-05-01", "2023-06-01", "区水务局", "自来水公司", "养护中心", "surveyed", "北口", grid,
			`{"部件名": "x", "普查编号": "A-17"}`}, "|"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("components\n got %s\nwant %s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
