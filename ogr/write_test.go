package ogr

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mixedFeatures = `{"type":"FeatureCollection","name":"components","features":[
{"type":"Feature","properties":{"code":"11010101001000001","name":"上水井盖"},"geometry":{"type":"Point","coordinates":[116.41,39.91]}},
{"type":"Feature","properties":{"code":"11010102001000001","name":"护栏"},"geometry":{"type":"LineString","coordinates":[[116.41,39.91],[116.42,39.91]]}},
{"type":"Feature","properties":{"code":"11010101001000002","name":"雨水井盖"},"geometry":{"type":"Point","coordinates":[116.415,39.915]}}
]}`

func writeSource(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "src.geojson")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNormalizeCRS(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	for in, want := range map[string]string{"EPSG:4548": "EPSG:4548", "epsg:04490": "EPSG:4490", "": "", "CRS84": "", "EPSG:4326": "", "EPSG:32650": "EPSG:32650"} {
		if got, err := NormalizeCRS(ctx, in); err != nil || got != want {
			t.Errorf("NormalizeCRS(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"EPSG:99999": "PROJ does not know", "4548": "want EPSG:NNNN", "EPSG:4548 -f": "want EPSG:NNNN", "+proj=tmerc": "want EPSG:NNNN"} {
		if _, err := NormalizeCRS(ctx, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeCRS(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

// When ogr2ogr fails half way through, nothing is left beside the file and
// an earlier file of that name is as it was.
func TestWriteFailureLeavesNothing(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	broken := writeSource(t, mixedFeatures[:len(mixedFeatures)/2])
	for _, tc := range []struct{ format, name string }{{"gpkg", "out.gpkg"}, {"shp", "out.shp"}, {"geojson", "out.geojson"}} {
		dir := t.TempDir()
		dst := filepath.Join(dir, tc.name)
		if err := os.WriteFile(dst, []byte("earlier"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Write(ctx, broken, dst, WriteOptions{Format: tc.format, Layer: "components", CRS: "EPSG:4548"})
		if err == nil || !strings.Contains(err.Error(), "ogr2ogr writing "+dst) {
			t.Errorf("%s: %v, want ogr2ogr's error", tc.format, err)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("%s: %d files in the folder, want only the earlier one", tc.format, len(entries))
		}
		if b, _ := os.ReadFile(dst); string(b) != "earlier" {
			t.Errorf("%s: the earlier file became %q", tc.format, b)
		}
	}
}

// A condition and a geometry type write one kind of geometry of a mixed
// layer, as a Shapefile needs; the file replaces an earlier one, companion
// files included.
func TestWriteWhereAndType(t *testing.T) {
	needGDAL(t)
	ctx := context.Background()
	src := writeSource(t, mixedFeatures)
	dir := t.TempDir()
	dst := filepath.Join(dir, "points.shp")
	for _, stale := range []string{"points.shp", "points.cpg"} {
		os.WriteFile(filepath.Join(dir, stale), []byte("old"), 0o644) //nolint:errcheck
	}
	files, err := Write(ctx, src, dst, WriteOptions{Format: "shp", Where: "OGR_GEOMETRY = 'POINT'", GeometryType: "POINT", Encoding: "GBK"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 || files[0] != dst {
		t.Errorf("wrote %v", files)
	}
	out, err := exec.Command("ogrinfo", "-al", dst).CombinedOutput()
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	s := string(out)
	for _, w := range []string{"Geometry: Point", "Feature Count: 2", "上水井盖", "雨水井盖"} {
		if !strings.Contains(s, w) {
			t.Errorf("ogrinfo does not show %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "护栏") {
		t.Errorf("the line was written with the points:\n%s", s)
	}
	if cpg, _ := os.ReadFile(filepath.Join(dir, "points.cpg")); string(cpg) != "936" {
		t.Errorf(".cpg %q", cpg)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 5 {
		t.Errorf("%d files in the folder, want the Shapefile's 5", len(entries))
	}
}
