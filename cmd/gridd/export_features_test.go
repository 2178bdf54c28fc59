package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids/postgis/pgtest"
)

// griddCmd runs a gridd command against the database at url and returns what
// it printed.
func griddCmd(t *testing.T, url, name string, args ...string) (string, error) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
	// Flags go before the file: a flag set stops at the first argument
	// that is not a flag. The first argument of export and import is what
	// to export or import.
	at := 0
	if name == "export" || name == "import" {
		at = 1
	}
	args = slices.Insert(slices.Clone(args), at, "--db", url)
	err = commands[name].run(context.Background(), e, args)
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// builtArea loads the demo district's divisions and roads and builds the
// unit grids of community 110101001001 (29 grids), returning the
// database's URL and a pool on it.
func builtArea(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.NewURL(t)
	// Flags go before the file: the commands' flag sets stop at the first
	// argument that is not one.
	for _, c := range [][]string{
		{"import", "divisions", "--db", url, "../../testdata/dongcheng/divisions.geojson"},
		{"import", "lines", "--db", url, "--layer", "roads", "../../testdata/dongcheng/roads.geojson"},
		{"build", "--db", url, "--area", "110101001001", "--quiet"},
	} {
		out, _ := os.Create(filepath.Join(t.TempDir(), "stdout"))
		e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
		if err := commands[c[0]].run(context.Background(), e, c[1:]); err != nil {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("gridd %v: %v\n%s", c, err, b)
		}
		out.Close()
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return url, pool
}

// geoJSONFile is a FeatureCollection read back from a file GDAL wrote.
type geoJSONFile struct {
	Features []struct {
		Properties map[string]any  `json:"properties"`
		Geometry   json.RawMessage `json:"geometry"`
	} `json:"features"`
}

// readBack converts the file's layer to GeoJSON with ogr2ogr, in the
// file's own coordinate system, and reads it.
func readBack(t *testing.T, path string) geoJSONFile {
	t.Helper()
	out := filepath.Join(t.TempDir(), "back.geojson")
	if b, err := exec.Command("ogr2ogr", "-f", "GeoJSON", out, path).CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr reading %s: %v\n%s", path, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fc geoJSONFile
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatalf("%s read back: %v", path, err)
	}
	return fc
}

func ogrSummary(t *testing.T, path string) string {
	t.Helper()
	b, err := exec.Command("ogrinfo", "-al", "-so", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo %s: %v\n%s", path, err, b)
	}
	return string(b)
}

// Unit grids exported to a GeoPackage in CGCS2000 / 3-degree GK zone 39
// (EPSG:4548) read back with GDAL as the same grids: the layer is named
// grids, in EPSG:4548, with every current grid of the area once, its
// attributes, and every vertex within 0.05 m of PostGIS's once transformed
// back to WGS-84.
func TestExportGridsGeoPackage(t *testing.T) {
	needGDAL(t)
	url, pool := builtArea(t)
	ctx := context.Background()
	const community = "110101001001"
	var want []string
	rows, err := pool.Query(ctx, `SELECT code FROM unit_grids WHERE valid_to IS NULL AND community_code = $1 ORDER BY code`, community)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c) //nolint:errcheck
		want = append(want, c)
	}
	if len(want) < 5 {
		t.Fatalf("the build made %d grids", len(want))
	}
	// Another community's grids exist too, so the area filter is tested.
	if _, err := griddCmd(t, url, "build", "--area", "110101001002", "--quiet"); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "grids.gpkg")
	out, err := griddCmd(t, url, "export", "grids", "--format", "gpkg", "--crs", "EPSG:4548", "--area", community, path)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if !strings.Contains(out, "exported "+itoa(len(want))+" grids") {
		t.Errorf("export says: %s", out)
	}
	sum := ogrSummary(t, path)
	for _, w := range []string{"Layer name: grids", "Feature Count: " + itoa(len(want)), `ID["EPSG",4548]`,
		"code: String", "area_m2: Real", "version: Integer", "responsible: String", "mgmt_level: String"} {
		if !strings.Contains(sum, w) {
			t.Errorf("ogrinfo does not show %q:\n%s", w, sum)
		}
	}

	fc := readBack(t, path)
	var got []string
	var worst float64
	for _, f := range fc.Features {
		code, _ := f.Properties["code"].(string)
		got = append(got, code)
		// Vertex by vertex, the file's point transformed back to WGS-84
		// against PostGIS's, as a geodesic distance in metres.
		var d, area, wantArea float64
		var n, wantN, version int
		var comm string
		err := pool.QueryRow(ctx, `
			WITH e AS (SELECT ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($2), 4548), 4326) AS g)
			SELECT (SELECT max(ST_Distance(a.geom::geography, b.geom::geography))
			          FROM ST_DumpPoints(u.geom) a JOIN ST_DumpPoints(e.g) b USING (path)),
			       ST_NPoints(e.g), ST_NPoints(u.geom), u.area_m2
			FROM unit_grids u, e WHERE u.code = $1 AND u.valid_to IS NULL`, code, string(f.Geometry)).Scan(&d, &n, &wantN, &wantArea)
		if err != nil {
			t.Fatalf("grid %s: %v", code, err)
		}
		if n != wantN || d > 0.05 {
			t.Errorf("grid %s: %d points, %.4f m from PostGIS's %d", code, n, d, wantN)
		}
		worst = max(worst, d)
		area, _ = f.Properties["area_m2"].(float64)
		v, _ := f.Properties["version"].(float64)
		version = int(v)
		comm, _ = f.Properties["community"].(string)
		if area != wantArea || version != 1 || comm != community {
			t.Errorf("grid %s: area %v version %d community %q, want %v 1 %s", code, area, version, comm, wantArea, community)
		}
	}
	t.Logf("%d grids; largest vertex displacement after the round trip through EPSG:4548: %.2g m", len(got), worst)
	if !slices.Equal(got, want) {
		t.Errorf("codes in the file %v, want %v", got, want)
	}

	// Without --crs the GeoJSON is WGS-84 longitude/latitude with PostGIS's
	// coordinates.
	gj := filepath.Join(t.TempDir(), "grids.geojson")
	if out, err := griddCmd(t, url, "export", "grids", "--area", community, gj); err != nil {
		t.Fatalf("export geojson: %v\n%s", err, out)
	}
	if s := ogrSummary(t, gj); !strings.Contains(s, "Feature Count: "+itoa(len(want))) || !strings.Contains(s, `ID["EPSG",4326]`) {
		t.Errorf("GeoJSON export:\n%s", s)
	}
	fc = readBack(t, gj)
	var same bool
	if err := pool.QueryRow(ctx, `SELECT ST_Equals(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), geom) AND ST_NPoints(geom) = ST_NPoints(ST_GeomFromGeoJSON($2))
		FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, fc.Features[0].Properties["code"], string(fc.Features[0].Geometry)).Scan(&same); err != nil || !same {
		t.Errorf("the GeoJSON's first grid is not PostGIS's: %v", err)
	}
}

// Divisions exported to a Shapefile keep their Chinese names, in a UTF-8
// DBF by default and in GBK with --encoding GBK, each named in the .cpg;
// field names fit the DBF's 10 bytes.
func TestExportShapefileChinese(t *testing.T) {
	needGDAL(t)
	url, pool := builtArea(t)
	ctx := context.Background()
	names := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT code, name FROM divisions WHERE valid_to IS NULL AND code LIKE '110101001%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c, n string
		rows.Scan(&c, &n) //nolint:errcheck
		names[c] = n
	}
	if len(names) < 3 {
		t.Fatalf("%d divisions", len(names))
	}
	for _, tc := range []struct{ encoding, cpg, iconv string }{
		{"", "UTF-8", "UTF-8"},
		{"GBK", "936", "GBK"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "divisions.shp")
		args := []string{"divisions", "--format", "shp", "--area", "110101001", "--crs", "EPSG:4548"}
		if tc.encoding != "" {
			args = append(args, "--encoding", tc.encoding)
		}
		if out, err := griddCmd(t, url, "export", append(args, path)...); err != nil {
			t.Fatalf("export %v: %v\n%s", args, err, out)
		}
		for _, ext := range []string{".shp", ".shx", ".dbf", ".prj"} {
			if _, err := os.Stat(filepath.Join(dir, "divisions"+ext)); err != nil {
				t.Errorf("encoding %q: %v", tc.encoding, err)
			}
		}
		if cpg, err := os.ReadFile(filepath.Join(dir, "divisions.cpg")); err != nil || strings.TrimSpace(string(cpg)) != tc.cpg {
			t.Errorf("encoding %q: .cpg %q %v, want %s", tc.encoding, cpg, err, tc.cpg)
		}
		if prj, _ := os.ReadFile(filepath.Join(dir, "divisions.prj")); !bytes.Contains(prj, []byte("117")) || !bytes.Contains(prj, []byte("Gauss_Kruger")) {
			t.Errorf("encoding %q: .prj %s", tc.encoding, prj)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 5 {
			t.Errorf("encoding %q: %d files in the folder, want the 5 of the Shapefile", tc.encoding, len(entries))
		}

		// The DBF holds the names in the encoding (as iconv writes them).
		dbf, err := os.ReadFile(filepath.Join(dir, "divisions.dbf"))
		if err != nil {
			t.Fatal(err)
		}
		for code, name := range names {
			cmd := exec.Command("iconv", "-f", "UTF-8", "-t", tc.iconv)
			cmd.Stdin = strings.NewReader(name)
			enc, err := cmd.Output()
			if err != nil {
				t.Fatalf("iconv: %v", err)
			}
			if !bytes.Contains(dbf, enc) {
				t.Errorf("encoding %q: the DBF does not hold %s %s as %s bytes", tc.encoding, code, name, tc.iconv)
			}
			if tc.iconv != "UTF-8" && bytes.Contains(dbf, []byte(name)) {
				t.Errorf("encoding %q: the DBF holds %s in UTF-8", tc.encoding, name)
			}
		}
		// GDAL reads the names back through the .cpg, and a GBK DBF
		// says GBK in its header (language driver 0x4D) for tools that
		// read no .cpg.
		if want := map[string]byte{"UTF-8": 0, "GBK": 0x4D}[tc.iconv]; dbf[29] != want {
			t.Errorf("encoding %q: DBF language driver %#x, want %#x", tc.encoding, dbf[29], want)
		}
		fc := readBack(t, path)
		if tc.iconv == "GBK" {
			os.Remove(filepath.Join(dir, "divisions.cpg"))
			if again := readBack(t, path); !reflect.DeepEqual(again, fc) {
				t.Errorf("without its .cpg the GBK Shapefile reads differently")
			}
		}
		got := map[string]string{}
		for _, f := range fc.Features {
			c, _ := f.Properties["code"].(string)
			n, _ := f.Properties["name"].(string)
			got[c] = n
			if lv, _ := f.Properties["level"].(string); lv == "" {
				t.Errorf("division %s has no level", c)
			}
		}
		if len(got) != len(names) {
			t.Errorf("encoding %q: %d divisions read back, want %d", tc.encoding, len(got), len(names))
		}
		for c, n := range names {
			if got[c] != n {
				t.Errorf("encoding %q: %s read back as %q, want %q", tc.encoding, c, got[c], n)
			}
		}
	}

	// Grids as a Shapefile: every field name fits 10 bytes, responsible
	// becomes resp, and GDAL renamed nothing.
	path := filepath.Join(t.TempDir(), "grids.shp")
	out, err := griddCmd(t, url, "export", "grids", "--area", "110101001001", path)
	if err != nil {
		t.Fatalf("export grids shp: %v\n%s", err, out)
	}
	sum := ogrSummary(t, path)
	fields := regexp.MustCompile(`(?m)^(\w+): (String|Real|Integer|Integer64|Date) `).FindAllStringSubmatch(sum, -1)
	var fieldNames []string
	for _, f := range fields {
		fieldNames = append(fieldNames, f[1])
	}
	wantFields := []string{"code", "community", "street", "area_m2", "version", "land_use", "mgmt_level", "resp", "note"}
	if !slices.Equal(fieldNames, wantFields) {
		t.Errorf("Shapefile fields %v, want %v:\n%s", fieldNames, wantFields, sum)
	}
}

// A bad --crs, format, encoding or file name is refused before anything is
// written, naming the problem; an earlier file of that name is left as it
// was.
func TestExportRefusals(t *testing.T) {
	needGDAL(t)
	url := pgtest.NewURL(t)
	dir := t.TempDir()
	old := filepath.Join(dir, "old.gpkg")
	if err := os.WriteFile(old, []byte("earlier file"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"grids", "--crs", "EPSG:99999", old}, "EPSG:99999: PROJ does not know"},
		{[]string{"grids", "--crs", "UTM50N", old}, "want EPSG:NNNN"},
		{[]string{"grids", "--crs", "EPSG:4548;rm", old}, "want EPSG:NNNN"},
		{[]string{"grids", "--format", "kml", filepath.Join(dir, "a.kml")}, `--format "kml": want one of geojson, gpkg, shp`},
		{[]string{"grids", filepath.Join(dir, "a.txt")}, "say --format"},
		{[]string{"grids", "--format", "shp", filepath.Join(dir, "a.gpkg")}, "a Shapefile's name ends in .shp"},
		{[]string{"grids", "--encoding", "GBK", old}, "only a Shapefile's DBF takes an encoding"},
		{[]string{"grids", "--format", "shp", "--encoding", "BIG5", filepath.Join(dir, "a.shp")}, `--encoding "BIG5": want UTF-8, GBK or GB18030`},
		{[]string{"grids", "--area", "11'01", old}, "want the digits a division code begins with"},
		{[]string{"grids", old}, "no current grids: nothing written"},
		{[]string{"grids", "--area", "110101", filepath.Join(dir, "b.shp")}, "no current grids in area 110101: nothing written"},
	} {
		out, err := griddCmd(t, url, "export", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("export %v: %v (%s), want an error saying %q", tc.args, err, out, tc.want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the folder: %v", names)
	}
	if b, _ := os.ReadFile(old); string(b) != "earlier file" {
		t.Errorf("the earlier file was changed: %q", b)
	}
	// MBTiles is still an export.
	if _, err := griddCmd(t, url, "export", "vectors", old); err == nil || !strings.Contains(err.Error(), "gridd export mbtiles") || !strings.Contains(err.Error(), "divisions|grids|components") {
		t.Errorf("unknown export: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// exportComponents are four components of community 110101001001 with
// Chinese names: two manhole covers, a traffic railing (a line) and a car
// park (a polygon).
const exportComponents = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"class_code":"01001","name":"供水井盖甲","status":"intact"},"geometry":{"type":"Point","coordinates":[116.41251,39.92297]}},
{"type":"Feature","properties":{"class_code":"01003","name":"雨水井盖乙","status":"damaged","initial_date":"2023-05-01"},"geometry":{"type":"Point","coordinates":[116.41354,39.92269]}},
{"type":"Feature","properties":{"class_code":"02017","name":"交通护栏丙"},"geometry":{"type":"LineString","coordinates":[[116.412,39.9228],[116.413,39.92285]]}},
{"type":"Feature","properties":{"class_code":"02001","name":"停车场丁"},"geometry":{"type":"Polygon","coordinates":[[[116.4133,39.9223],[116.4137,39.9223],[116.4137,39.9226],[116.4133,39.9226],[116.4133,39.9223]]]}}
]}`

// Components, points, a line and a polygon, go to one GeoPackage layer and,
// as a Shapefile holds one geometry type, to FILE_point.shp, FILE_line.shp
// and FILE_polygon.shp. Fields have the same types whatever the values:
// dates are dates even when no component has one, the version an integer.
func TestExportComponents(t *testing.T) {
	needGDAL(t)
	url, _ := builtArea(t)
	src := filepath.Join(t.TempDir(), "components.geojson")
	if err := os.WriteFile(src, []byte(exportComponents), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := griddCmd(t, url, "import", "components", src); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}

	gpkg := filepath.Join(t.TempDir(), "components.gpkg")
	if out, err := griddCmd(t, url, "export", "components", "--crs", "EPSG:4548", gpkg); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	sum := ogrSummary(t, gpkg)
	for _, w := range []string{"Layer name: components", "Feature Count: 4", `ID["EPSG",4548]`,
		"initial_date: Date", "change_date: Date", "version: Integer", "class_name: String", "dept_code: String"} {
		if !strings.Contains(sum, w) {
			t.Errorf("ogrinfo does not show %q:\n%s", w, sum)
		}
	}
	fc := readBack(t, gpkg)
	byName := map[string]map[string]any{}
	for _, f := range fc.Features {
		n, _ := f.Properties["name"].(string)
		byName[n] = f.Properties
	}
	for name, class := range map[string]string{"供水井盖甲": "供水井盖", "雨水井盖乙": "雨水井盖", "交通护栏丙": "交通护栏", "停车场丁": "停车场"} {
		p := byName[name]
		if p == nil || p["class_name"] != class || p["community_code"] != "110101001001" {
			t.Errorf("%s read back as %v", name, p)
		}
	}
	if d := byName["雨水井盖乙"]["initial_date"]; d != "2023-05-01" {
		t.Errorf("initial date read back as %v", d)
	}

	dir := t.TempDir()
	out, err := griddCmd(t, url, "export", "components", "--encoding", "GBK", filepath.Join(dir, "components.shp"))
	if err != nil {
		t.Fatalf("export shp: %v\n%s", err, out)
	}
	for file, want := range map[string][]string{
		"components_point.shp":   {"Geometry: Point", "Feature Count: 2", "init_date: Date", "chg_date: Date", "version: Integer"},
		"components_line.shp":    {"Geometry: Line String", "Feature Count: 1", "init_date: Date"},
		"components_polygon.shp": {"Geometry: Polygon", "Feature Count: 1", "init_date: Date"},
	} {
		s := ogrSummary(t, filepath.Join(dir, file))
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: ogrinfo does not show %q:\n%s", file, w, s)
			}
		}
	}
	names := map[string]bool{}
	for _, file := range []string{"components_point.shp", "components_line.shp", "components_polygon.shp"} {
		for _, f := range readBack(t, filepath.Join(dir, file)).Features {
			n, _ := f.Properties["name"].(string)
			names[n] = true
		}
	}
	if len(names) != 4 || !names["交通护栏丙"] || !names["停车场丁"] {
		t.Errorf("names read back from the Shapefiles: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "components.shp")); err == nil {
		t.Error("components.shp written besides the files per geometry type")
	}
}
