package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/project"

	"gridd/geo"
	"gridd/grids/postgis/pgtest"
	"gridd/ogr"
)

// The district 东城区, its street 东华门街道 and the street's ten
// communities, from the synthetic Dongcheng file (real codes and names).
const (
	dongchengDivisions = "../../testdata/dongcheng/divisions.geojson"
	dongchengRoads     = "../../testdata/dongcheng/roads.geojson"
	street001Where     = "code = '110101' OR code LIKE '110101001%'"
	street001Count     = 12
)

func needGDAL(t *testing.T) {
	t.Helper()
	if err := ogr.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and GDAL is missing (make test-deps installs gdal-bin): %v", err)
		}
		t.Skip(err)
	}
}

func gdal(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ogr2ogr", args...).CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr %v: %v\n%s", args, err, out)
	}
}

// importCmd runs gridd import and returns its output.
func importCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	e := &env{log: slog.New(slog.DiscardHandler), stdout: out, stderr: out}
	err = runImport(context.Background(), e, args)
	b, rerr := os.ReadFile(out.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	return string(b), err
}

// sourceFeatures maps code to the GeoJSON geometry and name of the
// Dongcheng file's features.
func sourceFeatures(t *testing.T, path, key string) map[string][2]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any  `json:"properties"`
			Geometry   json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	m := map[string][2]string{}
	for _, f := range fc.Features {
		k, _ := json.Marshal(f.Properties[key])
		name, _ := f.Properties["name"].(string)
		m[strings.Trim(string(k), `"`)] = [2]string{string(f.Geometry), name}
	}
	return m
}

// sameDivisions checks that the database holds exactly the street's
// divisions with the Dongcheng file's names and, measured in EPSG:4548,
// within 0.05 m of its geometry.
func sameDivisions(t *testing.T, pool *pgxpool.Pool, what string) {
	t.Helper()
	ctx := context.Background()
	src := sourceFeatures(t, dongchengDivisions, "code")
	rows, err := pool.Query(ctx, `SELECT code, name, geom::text FROM divisions WHERE valid_to IS NULL ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ code, name, geom string }
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.code, &r.name, &r.geom); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != street001Count {
		t.Fatalf("%s: %d divisions, want %d", what, len(got), street001Count)
	}
	worst := 0.0
	defer func() { t.Logf("%s: largest distance from the GeoJSON %.2g m", what, worst) }()
	for _, r := range got {
		want, ok := src[r.code]
		if !ok {
			t.Fatalf("%s: unexpected division %s", what, r.code)
		}
		if r.name != want[1] {
			t.Errorf("%s: %s named %q, want %q", what, r.code, r.name, want[1])
		}
		var d float64
		if err := pool.QueryRow(ctx, `SELECT ST_HausdorffDistance(ST_Transform($1::geometry, 4548),
				ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($2), 4326), 4548))`, r.geom, want[0]).Scan(&d); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, d)
		if d > 0.05 {
			t.Errorf("%s: %s is %.3f m from the GeoJSON's", what, r.code, d)
		}
	}
}

func divisionCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM divisions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportDivisionsFromGISFormats(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }

	// A Shapefile in CGCS2000 / Gauss-Kruger CM 117E with a GBK DBF and
	// its .cpg, as Beijing's GIS staff hold division data.
	gdal(t, "-f", "ESRI Shapefile", "-t_srs", "EPSG:4548", "-lco", "ENCODING=GBK", at("xzq.shp"), dongchengDivisions, "-where", street001Where)
	// The same with the field names of the national standard (行政区代码,
	// 行政区名称), which the import recognises.
	gdal(t, "-f", "ESRI Shapefile", "-t_srs", "EPSG:4548", "-lco", "ENCODING=GBK", at("xzqdm.shp"), dongchengDivisions,
		"-sql", "SELECT code AS XZQDM, name AS XZQMC FROM divisions WHERE "+street001Where)
	// The same zipped.
	zipFiles(t, at("xzq.zip"), at("xzq.shp"), at("xzq.shx"), at("xzq.dbf"), at("xzq.prj"), at("xzq.cpg"))
	// The same without the .cpg.
	if err := os.MkdirAll(at("nocpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".shp", ".shx", ".dbf", ".prj"} {
		b, err := os.ReadFile(at("xzq" + ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(at("nocpg/xzq"+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A GeoPackage in CGCS2000 longitude/latitude with two layers.
	gdal(t, "-f", "GPKG", "-t_srs", "EPSG:4490", "-nln", "xzq", at("district.gpkg"), dongchengDivisions, "-where", street001Where)
	gdal(t, "-f", "GPKG", "-update", "-nln", "roads", at("district.gpkg"), dongchengRoads)
	// A Shapefile of GCJ-02 coordinates (from a web map), labelled WGS-84
	// as such files are.
	fc, err := geojson.UnmarshalFeatureCollection([]byte(readFile(t, dongchengDivisions)))
	if err != nil {
		t.Fatal(err)
	}
	gcj := geojson.NewFeatureCollection()
	for _, f := range fc.Features {
		if code, _ := f.Properties["code"].(string); code == "110101" || strings.HasPrefix(code, "110101001") {
			f.Geometry = project.Geometry(f.Geometry, func(p orb.Point) orb.Point { return geo.FromWGS84(p, geo.GCJ02) })
			gcj.Append(f)
		}
	}
	gcjJSON, err := gcj.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("gcj.geojson"), gcjJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	gdal(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", at("gcj.shp"), at("gcj.geojson"))
	// KML from a survey.
	gdal(t, "-f", "KML", at("survey.kml"), dongchengDivisions, "-where", street001Where)
	// GeoJSON in Gauss-Kruger naming its CRS (as ogr2ogr writes it), and
	// the same without the crs member.
	gdal(t, "-f", "GeoJSON", "-t_srs", "EPSG:4548", at("gk.geojson"), dongchengDivisions, "-where", street001Where)
	var gk map[string]json.RawMessage
	if err := json.Unmarshal([]byte(readFile(t, at("gk.geojson"))), &gk); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gk["crs"]), "EPSG::4548") {
		t.Fatalf("crs member %s", gk["crs"])
	}
	delete(gk, "crs")
	bare, err := json.Marshal(gk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("bare.geojson"), bare, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		args []string
		read string // what the import says it read
	}{
		{"shapefile", []string{at("xzq.shp")}, `ESRI Shapefile, layer "xzq", EPSG:4548 CGCS2000 / 3-degree Gauss-Kruger CM 117E (from the file), 12 features, text in GBK`},
		{"zip", []string{at("xzq.zip")}, `ESRI Shapefile, layer "xzq", EPSG:4548`},
		{"XZQDM/XZQMC", []string{at("xzqdm.shp")}, `ESRI Shapefile, layer "xzqdm", EPSG:4548 CGCS2000 / 3-degree Gauss-Kruger CM 117E (from the file), 12 features, text in GBK`},
		{"no .cpg", []string{"--encoding", "GBK", at("nocpg/xzq.shp")}, "text in GBK"},
		{"geopackage", []string{"--layer", "xzq", at("district.gpkg")}, `GPKG, layer "xzq", EPSG:4490`},
		{"kml", []string{at("survey.kml")}, `KML, layer "divisions", EPSG:4326`},
		{"crs given", []string{"--crs", "EPSG:4548", "--encoding", "GBK", at("nocpg/xzq.shp")}, "EPSG:4548 (given)"},
		{"gcj02 shapefile", []string{"--crs", "gcj02", at("gcj.shp")}, `layer "gcj", EPSG:4326 (given), 12 features, text in UTF-8, read as they are and converted from gcj02 to WGS-84`},
		{"geojson naming its crs", []string{at("gk.geojson")}, `GeoJSON, layer "divisions", EPSG:4548 CGCS2000 / 3-degree Gauss-Kruger CM 117E (from the file)`},
		{"geojson, crs given", []string{"--crs", "epsg:4548", at("bare.geojson")}, `GeoJSON, layer "divisions", EPSG:4548 (given)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, out := importFresh(t, "divisions", c.args, "")
			if !strings.Contains(out, c.read) || !strings.Contains(out, "12 created") {
				t.Errorf("output %q, want it to say %q and 12 created", out, c.read)
			}
			sameDivisions(t, pool, c.name)
		})
	}
}

func TestImportDivisionsBadGISFiles(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	shp := func(name string, args ...string) string {
		p := at(name + ".shp")
		gdal(t, append([]string{"-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", p, dongchengDivisions, "-where", street001Where}, args...)...)
		return p
	}
	// relabel makes a copy of a Shapefile whose .prj says crs, the
	// coordinates unchanged.
	relabel := func(name, from, crs string) string {
		p := at(name + ".shp")
		gdal(t, "-f", "ESRI Shapefile", "-a_srs", crs, p, from)
		return p
	}

	corrupt := shp("corrupt", "-t_srs", "EPSG:4548")
	b, err := os.ReadFile(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, b[:len(b)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	noprj := shp("noprj", "-t_srs", "EPSG:4548")
	if err := os.Remove(at("noprj.prj")); err != nil {
		t.Fatal(err)
	}
	gbk := at("gbk.shp")
	gdal(t, "-f", "ESRI Shapefile", "-t_srs", "EPSG:4548", "-lco", "ENCODING=GBK", gbk, dongchengDivisions, "-where", street001Where)
	if err := os.Remove(at("gbk.cpg")); err != nil {
		t.Fatal(err)
	}
	swapped := shp("swapped", "-a_srs", "EPSG:4326", "-ct", "+proj=axisswap +order=2,1")
	zone39 := relabel("zone39", shp("zone39_src", "-t_srs", "EPSG:4527"), "EPSG:4548")
	cm117 := relabel("cm117", shp("cm117_src", "-t_srs", "EPSG:4548"), "EPSG:4527")
	gpkg := at("district.gpkg")
	gdal(t, "-f", "GPKG", "-nln", "xzq", gpkg, dongchengDivisions, "-where", street001Where)
	// One community of twelve digitised latitude first: the file is read,
	// and the import's own check names that community.
	fc, err := geojson.UnmarshalFeatureCollection([]byte(readFile(t, dongchengDivisions)))
	if err != nil {
		t.Fatal(err)
	}
	one := geojson.NewFeatureCollection()
	for _, f := range fc.Features {
		code, _ := f.Properties["code"].(string)
		if code == "110101001005" {
			f.Geometry = project.Geometry(f.Geometry, func(p orb.Point) orb.Point { return orb.Point{p[1], p[0]} })
		}
		if code == "110101" || strings.HasPrefix(code, "110101001") {
			one.Append(f)
		}
	}
	oneJSON, err := one.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("one.geojson"), oneJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	oneSwapped := at("one.shp")
	gdal(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", oneSwapped, at("one.geojson"))

	url := pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"corrupt .shp", []string{corrupt}, []string{"corrupt.shp", "GDAL could not read"}},
		{"no .prj", []string{noprj}, []string{"noprj.shp", "does not say its coordinate system", "--crs"}},
		{"GBK without .cpg", []string{gbk}, []string{"gbk.shp", "not UTF-8", "--encoding GBK"}},
		{"lat/lon swapped", []string{swapped}, []string{"outside China", "swapped"}},
		{"one feature swapped", []string{oneSwapped}, []string{"110101001005", "lat,lon"}},
		{"zone prefix under CM CRS", []string{zone39}, []string{"outside China", "zone prefix 39", "EPSG:4527"}},
		{"no prefix under zone CRS", []string{cm117}, []string{"outside China", "no zone prefix", "EPSG:4548"}},
		{"no prefix, zone CRS given", []string{"--crs", "EPSG:4527", at("cm117_src.shp")}, []string{"EPSG:4548"}},
		{"no such layer", []string{"--layer", "communities", gpkg}, []string{`no layer "communities"`, "its layers: xzq"}},
		{"unknown crs", []string{"--crs", "EPSG:999999", at("cm117_src.shp")}, []string{"EPSG:999999"}},
		{"bad crs name", []string{"--crs", "beijing54", at("cm117_src.shp")}, []string{"unknown crs", "EPSG:NNNN"}},
	} {
		out, err := importCmd(t, append([]string{"divisions", "--db", url}, c.args...)...)
		if err == nil {
			t.Errorf("%s: imported: %s", c.name, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", c.name, err, w)
			}
		}
		if n := divisionCount(t, pool); n != 0 {
			t.Fatalf("%s: %d divisions written", c.name, n)
		}
	}
}

func TestImportLinesFromGISFormats(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	shp := filepath.Join(dir, "roads.shp")
	gdal(t, "-f", "ESRI Shapefile", "-t_srs", "EPSG:4548", "-lco", "ENCODING=GBK", shp, dongchengRoads)
	gpkg := filepath.Join(dir, "district.gpkg")
	gdal(t, "-f", "GPKG", "-t_srs", "EPSG:4490", "-nln", "xzq", gpkg, dongchengDivisions)
	// FID=fid keeps the roads' id a field (GDAL would take a field named id
	// as the GeoPackage's row id).
	gdal(t, "-f", "GPKG", "-update", "-t_srs", "EPSG:4490", "-lco", "FID=fid", "-nln", "roads", gpkg, dongchengRoads)
	src := sourceFeatures(t, dongchengRoads, "id")
	for _, c := range []struct {
		name, layer string
		args        []string
		read        string
	}{
		{"shapefile", "roads", []string{shp}, `read ` + shp + `: ESRI Shapefile, layer "roads", EPSG:4548`},
		// --layer names the line layer; a file of one layer is read whole.
		{"shapefile into streets", "streets", []string{"--layer", "streets", shp}, `ESRI Shapefile, layer "roads", EPSG:4548`},
		// From a GeoPackage of several layers, --layer picks the one to read too.
		{"geopackage", "roads", []string{"--layer", "roads", gpkg}, `GPKG, layer "roads", EPSG:4490`},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, out := importFresh(t, "lines", c.args, "")
			if !strings.Contains(out, c.read) || !strings.Contains(out, "into layer "+c.layer) {
				t.Errorf("output %q, want it to say %q and layer %s", out, c.read, c.layer)
			}
			var n, far int
			var worst float64
			if err := pool.QueryRow(context.Background(), `
				WITH src AS (SELECT f->'properties'->>'id' AS id, f->'properties'->>'name' AS name,
				                    ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326) AS geom
				             FROM jsonb_array_elements($1::jsonb->'features') f),
				     d AS (SELECT ST_HausdorffDistance(ST_Transform(l.geom, 4548), ST_Transform(s.geom, 4548)) AS d,
				                  l.name = s.name AS same
				           FROM lines l JOIN src s ON s.id = l.source_id
				           WHERE l.layer = $2 AND l.valid_to IS NULL)
				SELECT count(*), count(*) FILTER (WHERE d > 0.05 OR NOT same), coalesce(max(d), 0) FROM d`,
				readFile(t, dongchengRoads), c.layer).Scan(&n, &far, &worst); err != nil {
				t.Fatal(err)
			}
			if n != len(src) || far != 0 {
				t.Errorf("%d of %d roads matched by id, %d renamed or farther than 0.05 m (worst %.3f m)", n, len(src), far, worst)
			}
		})
	}
	// Without --layer, a GeoPackage of several layers is refused, listing them.
	out, err := importCmd(t, "lines", "--db", pgtest.NewURL(t), gpkg)
	if err == nil || !strings.Contains(err.Error(), "xzq, roads") && !strings.Contains(err.Error(), "roads, xzq") {
		t.Errorf("several layers, no --layer: %v\n%s", err, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// zipFiles writes the files into a zip archive, as a user zips a Shapefile.
func zipFiles(t *testing.T, zp string, files ...string) {
	t.Helper()
	f, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range files {
		w, err := zw.Create(filepath.Base(name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(readFile(t, name))); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestImportComponentsFromGISFormats(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	// Five manhole covers (上水井盖, 01001) in 东华门街道, longitude and
	// latitude in WGS-84, written to a GeoPackage in Gauss-Kruger CM 117E.
	src := filepath.Join(dir, "components.geojson")
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range 5 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"class_code":"01001","name":"井盖%d"},"geometry":{"type":"Point","coordinates":[%.7f,39.9175]}}`,
			i+1, 116.4175+0.0005*float64(i))
	}
	b.WriteString("]}")
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	gpkg := filepath.Join(dir, "census.gpkg")
	gdal(t, "-f", "GPKG", "-t_srs", "EPSG:4548", "-nln", "bj", gpkg, src)
	// The same as a CSV of X and Y in metres, as census spreadsheets hold
	// them.
	csv := filepath.Join(dir, "census.csv")
	gdal(t, "-f", "CSV", "-lco", "GEOMETRY=AS_XY", "-t_srs", "EPSG:4548", csv, src)

	// As a census GeoPackage in CGCS2000 geographic coordinates holds
	// them: Chinese field names, the class code without its leading zero,
	// the status (破损: damaged) and the date as written in Chinese files.
	census := filepath.Join(dir, "census4490.gpkg")
	gdal(t, "-f", "GPKG", "-t_srs", "EPSG:4490", "-nln", "部件", "-dialect", "SQLite", "-sql",
		`SELECT '1001' AS "部件类型代码", name AS "部件名称", '破损' AS "状态", '2023/5/1' AS "初始日期", geometry FROM components`, census, src)

	for _, c := range []struct {
		name, status string
		args         []string
		read         string
	}{
		{"geopackage", "intact", []string{"--layer", "bj", gpkg}, `GPKG, layer "bj", EPSG:4548`},
		{"geopackage in EPSG:4490 with Chinese fields", "damaged", []string{census}, `GPKG, layer "部件", EPSG:4490`},
		{"csv", "intact", []string{"--crs", "EPSG:4548", csv}, `CSV, layer "census", EPSG:4548 (given)`},
	} {
		t.Run(c.name, func(t *testing.T) { importComponentsAndCompare(t, c.args, c.read, c.status, b.String()) })
	}
}

// importFresh runs gridd import KIND ARGS into a fresh database, after the
// statement setup when one is given, and returns a pool on that database
// (closed when the test ends) and the command's output; the import must
// succeed.
func importFresh(t *testing.T, kind string, args []string, setup string) (*pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if setup != "" {
		if _, err := pool.Exec(context.Background(), setup); err != nil {
			t.Fatal(err)
		}
	}
	out, err := importCmd(t, append([]string{kind, "--db", url}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return pool, out
}

// importComponentsAndCompare imports components into a fresh database
// holding one unit grid and checks they are the five of the GeoJSON src,
// within 0.05 m.
func importComponentsAndCompare(t *testing.T, args []string, read, status, src string) {
	t.Helper()
	// One unit grid under all five.
	pool, out := importFresh(t, "components", args, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		VALUES ('110101001001001', '110101001001', '110101001', '110101', ST_MakeEnvelope(116.41, 39.91, 116.43, 39.93, 4326), 1)`)
	if !strings.Contains(out, read) || !strings.Contains(out, "5 created") {
		t.Errorf("output %q, want it to say %q and 5 created", out, read)
	}
	var n, far int
	if err := pool.QueryRow(context.Background(), `
		WITH src AS (SELECT f->'properties'->>'name' AS name, ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326) AS geom
		             FROM jsonb_array_elements($1::jsonb->'features') f)
		SELECT count(*), count(*) FILTER (WHERE ST_Distance(ST_Transform(c.geom, 4548), ST_Transform(s.geom, 4548)) > 0.05
		                                  OR c.class_code <> '01001' OR c.grid_code IS DISTINCT FROM '110101001001001'
		                                  OR c.status <> $2)
		FROM components c JOIN src s ON s.name = c.name`, src, status).Scan(&n, &far); err != nil {
		t.Fatal(err)
	}
	if n != 5 || far != 0 {
		t.Errorf("%d of 5 components found by name, %d of another class, grid or status, or farther than 0.05 m", n, far)
		rows, _ := pool.Query(context.Background(), `SELECT format('%s %s %s %s %s', name, class_code, grid_code, status, initial_date) FROM components`)
		for rows.Next() {
			var r string
			rows.Scan(&r) //nolint:errcheck
			t.Log(r)
		}
		rows.Close()
	}
}
