package ogr

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dongcheng is the synthetic Dongcheng division file (real codes and names).
var dongcheng = filepath.Join("..", "testdata", "dongcheng", "divisions.geojson")

// street001 selects 东华门街道 and its ten communities from dongcheng.
const street001 = "code LIKE '110101001%'"

// NeedGDAL skips the test when ogr2ogr is not installed, and fails it under
// CI.
func needGDAL(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and GDAL is missing (make test-deps installs gdal-bin): %v", err)
		}
		t.Skip(err)
	}
}

// ogr2ogr runs ogr2ogr to make a test file.
func ogr2ogr(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ogr2ogr", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogr2ogr %v: %v\n%s", args, err, out)
	}
}

type feature struct {
	Properties map[string]any `json:"properties"`
	Geometry   struct {
		Type        string         `json:"type"`
		Coordinates [][][2]float64 `json:"coordinates"`
	} `json:"geometry"`
}

func features(t *testing.T, data []byte) map[string]feature {
	t.Helper()
	var fc struct {
		Features []feature `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	m := map[string]feature{}
	for _, f := range fc.Features {
		code, _ := f.Properties["code"].(string)
		m[code] = f
	}
	return m
}

// bbox is a polygon's bounding box.
func bbox(f feature) [4]float64 {
	b := [4]float64{180, 90, -180, -90}
	for _, r := range f.Geometry.Coordinates {
		for _, p := range r {
			b[0], b[1], b[2], b[3] = min(b[0], p[0]), min(b[1], p[1]), max(b[2], p[0]), max(b[3], p[1])
		}
	}
	return b
}

// sameAsDongcheng checks that d holds the street's features of dongcheng
// with the same names, the same number of vertices and, longitude first,
// the same bounding boxes within 1e-8° (about a millimetre).
func sameAsDongcheng(t *testing.T, d *Dataset) {
	t.Helper()
	src, err := os.ReadFile(dongcheng)
	if err != nil {
		t.Fatal(err)
	}
	want := features(t, src)
	got := features(t, d.GeoJSON)
	if len(got) != 11 || d.Features != 11 {
		t.Fatalf("%d features (%d counted), want 11", len(got), d.Features)
	}
	for code, g := range got {
		w, ok := want[code]
		if !ok || !strings.HasPrefix(code, "110101001") {
			t.Fatalf("unexpected feature %q", code)
		}
		if g.Properties["name"] != w.Properties["name"] {
			t.Errorf("%s: name %q, want %q", code, g.Properties["name"], w.Properties["name"])
		}
		if len(g.Geometry.Coordinates[0]) != len(w.Geometry.Coordinates[0]) {
			t.Errorf("%s: %d vertices, want %d", code, len(g.Geometry.Coordinates[0]), len(w.Geometry.Coordinates[0]))
		}
		gb, wb := bbox(g), bbox(w)
		for i := range gb {
			if math.Abs(gb[i]-wb[i]) > 1e-8 {
				t.Errorf("%s: bbox %v, want %v", code, gb, wb)
				break
			}
		}
	}
}

func TestReadShapefileGaussKrugerGBK(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	dir := t.TempDir()
	shp := filepath.Join(dir, "xzq.shp")
	ogr2ogr(t, "-f", "ESRI Shapefile", "-t_srs", "EPSG:4548", "-lco", "ENCODING=GBK", shp, dongcheng, "-where", street001)
	if cpg, _ := os.ReadFile(filepath.Join(dir, "xzq.cpg")); string(cpg) != "GBK" {
		t.Fatalf(".cpg says %q", cpg)
	}
	d, err := Read(ctx, shp, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Driver != "ESRI Shapefile" || d.Layer != "xzq" || !strings.HasPrefix(d.SourceCRS, "EPSG:4548 ") || !d.CRSFromFile || d.Encoding != "GBK" {
		t.Errorf("read %+v", d.Summary())
	}
	sameAsDongcheng(t, d)

	// Zipped, as Shapefiles travel.
	zp := filepath.Join(dir, "xzq.zip")
	zipFiles(t, zp, dir, "xzq.shp", "xzq.shx", "xzq.dbf", "xzq.prj", "xzq.cpg")
	d, err = Read(ctx, zp, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Driver != "ESRI Shapefile" || d.Layer != "xzq" || d.Encoding != "GBK" {
		t.Errorf("zip read %s", d.Summary())
	}
	sameAsDongcheng(t, d)

	// Without the .cpg the DBF says nothing of its encoding: the GBK bytes
	// are refused until --encoding names it.
	if err := os.Remove(filepath.Join(dir, "xzq.cpg")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(ctx, shp, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "--encoding") {
		t.Errorf("GBK without .cpg: %v", err)
	}
	// Read in a Western single-byte encoding, GBK turns into Latin-1
	// letters; that is refused too.
	if _, err := Read(ctx, shp, ReadOptions{Encoding: "CP1252"}); err == nil || !strings.Contains(err.Error(), "mis-decoded") ||
		!strings.Contains(err.Error(), "--encoding GBK") {
		t.Errorf("GBK read as CP1252: %v", err)
	}
	d, err = Read(ctx, shp, ReadOptions{Encoding: "GBK"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Encoding != "GBK" {
		t.Errorf("encoding %q", d.Encoding)
	}
	sameAsDongcheng(t, d)

	// Without the .prj, a coordinate system must be given.
	if err := os.Remove(filepath.Join(dir, "xzq.prj")); err != nil {
		t.Fatal(err)
	}
	var nocrs *NoCRSError
	if _, err := Read(ctx, shp, ReadOptions{Encoding: "GBK"}); !errors.As(err, &nocrs) || !strings.Contains(err.Error(), "--crs") {
		t.Errorf("no .prj: %v", err)
	}
	d, err = Read(ctx, shp, ReadOptions{Encoding: "GBK", SourceCRS: "EPSG:4548"})
	if err != nil {
		t.Fatal(err)
	}
	if d.SourceCRS != "EPSG:4548" || d.CRSFromFile {
		t.Errorf("given crs: %s", d.Summary())
	}
	sameAsDongcheng(t, d)
}

func zipFiles(t *testing.T, zp, dir string, names ...string) {
	t.Helper()
	f, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, n := range names {
		w, err := zw.Create("data/" + n)
		if err != nil {
			t.Fatal(err)
		}
		r, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadGeoPackageLayers(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	gpkg := filepath.Join(t.TempDir(), "district.gpkg")
	ogr2ogr(t, "-f", "GPKG", "-t_srs", "EPSG:4490", "-nln", "communities", gpkg, dongcheng, "-where", street001)
	ogr2ogr(t, "-f", "GPKG", "-update", "-nln", "roads", gpkg, filepath.Join("..", "testdata", "dongcheng", "roads.geojson"))

	var le *LayerError
	if _, err := Read(ctx, gpkg, ReadOptions{}); !errors.As(err, &le) || le.Want != "" ||
		!strings.Contains(err.Error(), "--layer") || !strings.Contains(err.Error(), "communities, roads") {
		t.Errorf("no --layer: %v", err)
	}
	if _, err := Read(ctx, gpkg, ReadOptions{Layer: "xzq"}); !errors.As(err, &le) || le.Want != "xzq" ||
		!strings.Contains(err.Error(), `no layer "xzq"`) || !strings.Contains(err.Error(), "communities, roads") {
		t.Errorf("wrong --layer: %v", err)
	}
	if _, err := Read(ctx, gpkg, ReadOptions{Layer: "communities", Encoding: "GBK"}); err == nil || !strings.Contains(err.Error(), "Shapefile") {
		t.Errorf("--encoding on a GeoPackage: %v", err)
	}
	d, err := Read(ctx, gpkg, ReadOptions{Layer: "communities"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Driver != "GPKG" || d.Layer != "communities" || !strings.HasPrefix(d.SourceCRS, "EPSG:4490 ") ||
		strings.Join(d.Layers, ",") != "communities,roads" {
		t.Errorf("read %s, layers %v", d.Summary(), d.Layers)
	}
	sameAsDongcheng(t, d)

	// A layer without a CRS (points from a CSV's WKT column) in the same
	// GeoPackage.
	csv := filepath.Join(t.TempDir(), "points.csv")
	if err := os.WriteFile(csv, []byte("WKT,code\n\"POINT (116.41 39.91)\",1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ogr2ogr(t, "-f", "GPKG", "-update", "-nln", "nocrs", gpkg, csv)
	var nocrs *NoCRSError
	if _, err := Read(ctx, gpkg, ReadOptions{Layer: "nocrs"}); !errors.As(err, &nocrs) {
		t.Errorf("layer without a CRS: %v", err)
	}
	if d, err := Read(ctx, gpkg, ReadOptions{Layer: "nocrs", SourceCRS: "EPSG:4490"}); err != nil || d.Features != 1 {
		t.Errorf("layer without a CRS, CRS given: %v", err)
	}
}

func TestReadKMLAndGML(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct {
		file, crs string
		args      []string
	}{
		{"survey.kml", "EPSG:4326", []string{"-f", "KML"}},
		{"survey.kmz", "EPSG:4326", []string{"-f", "LIBKML"}},
		// GML 3 writes EPSG:4326 latitude first, as the EPSG defines it.
		{"gml3.gml", "EPSG:4326", []string{"-f", "GML", "-dsco", "FORMAT=GML3"}},
		{"gk.gml", "EPSG:4548", []string{"-f", "GML", "-t_srs", "EPSG:4548"}},
	} {
		p := filepath.Join(dir, c.file)
		ogr2ogr(t, append(c.args, p, dongcheng, "-where", street001)...)
		d, err := Read(ctx, p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.SourceCRS, c.crs+" ") || !d.CRSFromFile {
			t.Errorf("%s: %s", c.file, d.Summary())
		}
		sameAsDongcheng(t, d)
	}
}

func TestReadBadFiles(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	dir := t.TempDir()
	mk := func(name, crs string, extra ...string) string {
		p := filepath.Join(dir, name+".shp")
		ogr2ogr(t, append([]string{"-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", p, dongcheng, "-where", street001}, extra...)...)
		if crs != "" {
			// The coordinates stay; the .prj says crs.
			ogr2ogr(t, "-f", "ESRI Shapefile", "-t_srs", crs, filepath.Join(dir, "prj_"+name+".shp"), dongcheng, "-where", street001)
			prj, err := os.ReadFile(filepath.Join(dir, "prj_"+name+".prj"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".prj"), prj, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}

	// A truncated .shp.
	corrupt := mk("corrupt", "", "-t_srs", "EPSG:4548")
	data, err := os.ReadFile(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(ctx, corrupt, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "GDAL could not read") {
		t.Errorf("corrupt .shp: %v", err)
	}
	if _, err := Read(ctx, filepath.Join(dir, "nothing.shp"), ReadOptions{}); err == nil {
		t.Error("missing file read")
	}

	var out *OutsideError
	for _, c := range []struct {
		name, crs string
		args      []string
		opt       ReadOptions
		want      string
	}{
		// Latitude first, labelled WGS-84.
		{"swapped", "", []string{"-a_srs", "EPSG:4326", "-ct", "+proj=axisswap +order=2,1"}, ReadOptions{}, "swapped"},
		// Gauss-Kruger zone 39 eastings (39 450 000) under the CM 117E CRS.
		{"prefixed", "EPSG:4548", []string{"-t_srs", "EPSG:4527"}, ReadOptions{}, "EPSG:4527"},
		// Eastings without the prefix (450 000) under the zone 39 CRS.
		{"unprefixed", "EPSG:4527", []string{"-t_srs", "EPSG:4548"}, ReadOptions{}, "EPSG:4548"},
		// The same, the wrong CRS given on the command line.
		{"given", "", []string{"-t_srs", "EPSG:4548"}, ReadOptions{SourceCRS: "EPSG:4527"}, "EPSG:4548"},
		// Metres read as degrees.
		{"metres", "", []string{"-t_srs", "EPSG:4548"}, ReadOptions{SourceCRS: "EPSG:4326"}, "Gauss-Kruger metres"},
	} {
		p := mk(c.name, c.crs, c.args...)
		_, err := Read(ctx, p, c.opt)
		if !errors.As(err, &out) || !strings.Contains(out.Hint, c.want) {
			t.Errorf("%s: %v, want a hint naming %q", c.name, err, c.want)
		}
	}
}
