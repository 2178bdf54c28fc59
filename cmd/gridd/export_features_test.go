package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridd/grids/postgis/pgtest"
)

// exportNeedsGDAL skips the test without GDAL's command-line tools, or fails
// it under CI.
func exportNeedsGDAL(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ogr2ogr", "ogrinfo", "gdalsrsinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set and %s is missing: install gdal-bin (make test-deps)", tool)
			}
			t.Skipf("%s not installed (apt-get install gdal-bin)", tool)
		}
	}
}

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
	// that is not a flag. The first argument of export is what to export.
	at := 0
	if name == "export" {
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
	exportNeedsGDAL(t)
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
	exportNeedsGDAL(t)
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
		{"GBK", "CP936", "GBK"},
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
		// GDAL reads the names back through the .cpg.
		fc := readBack(t, path)
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
	exportNeedsGDAL(t)
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
