package grids

import (
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridd/geo"
)

func TestBuildingsGeoJSONChineseFields(t *testing.T) {
	// 户数 as a DBF numeric field comes out (12.0), 人口 as a string, a
	// footprint and a point, and a property gridd keeps as attrs.
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"楼栋号":"3号楼","户数":12.0,"人口":"31","物业":"甲"},"geometry":{"type":"Polygon","coordinates":[[[116.401,39.901],[116.402,39.901],[116.402,39.902],[116.401,39.902],[116.401,39.901]]]}},
		{"type":"Feature","properties":{"楼栋号":"4号楼","户数":8,"人口":20},"geometry":{"type":"Point","coordinates":[116.403,39.903]}}]}`
	feats, rejected, m, err := ReadBuildingsGeoJSON([]byte(file), geo.WGS84, FieldMap{})
	if err != nil || len(rejected) > 0 {
		t.Fatalf("err %v, rejected %v", err, rejected)
	}
	if len(feats) != 2 {
		t.Fatalf("%d features, want 2", len(feats))
	}
	a, b := feats[0], feats[1]
	if a.Name != "3号楼" || a.Households != 12 || a.Residents != 31 || a.Attrs["物业"] != "甲" {
		t.Errorf("first: %+v", a)
	}
	if _, ok := a.Geom.(orb.Polygon); !ok {
		t.Errorf("first geometry %T, want a polygon", a.Geom)
	}
	if b.Name != "4号楼" || b.Households != 8 || b.Residents != 20 || b.Attrs != nil {
		t.Errorf("second: %+v", b)
	}
	for _, want := range []string{"name ← 楼栋号", "households ← 户数", "residents ← 人口", "kept as attrs: 物业"} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("mapping %q, want %q in it", m, want)
		}
	}
}

func TestBuildingsCSVWithFieldMap(t *testing.T) {
	// English names, and a population column mapped with --field.
	csv := "\ufefflon,lat,building,households,pop_total\n116.401,39.901,A1,10,25\n116.402,39.902,,0,0\n"
	fm, err := ParseFieldMap(BuildingFields, []string{"residents=pop_total"})
	if err != nil {
		t.Fatal(err)
	}
	feats, rejected, _, err := ReadBuildingsCSV(strings.NewReader(csv), geo.WGS84, fm)
	if err != nil || len(rejected) > 0 {
		t.Fatalf("err %v, rejected %v", err, rejected)
	}
	if len(feats) != 2 || feats[0].Name != "A1" || feats[0].Households != 10 || feats[0].Residents != 25 ||
		feats[0].Geom != (orb.Point{116.401, 39.901}) || feats[1].Name != "" || feats[1].Households != 0 {
		t.Errorf("features %+v", feats)
	}
}

func TestBuildingsBadRows(t *testing.T) {
	csv := "经度,纬度,楼栋号,户数,人口\n" +
		"116.401,39.901,1号楼,10,25\n" + // good
		"116.401,39.901,2号楼,-3,25\n" + // negative households
		"116.401,39.901,3号楼,10,2.5\n" + // fractional residents
		"39.901,116.401,4号楼,10,25\n" + // lat,lon swapped
		"116.401,,5号楼,10,25\n" + // no latitude
		"116.401,39.901,6号楼,很多,25\n" // not a number
	feats, rejected, _, err := ReadBuildingsCSV(strings.NewReader(csv), geo.WGS84, FieldMap{})
	if err != nil {
		t.Fatal(err)
	}
	if len(feats) != 1 || feats[0].Name != "1号楼" {
		t.Errorf("accepted %+v, want only 1号楼", feats)
	}
	want := []struct {
		index int
		code  string
		parts []string
	}{
		{1, "2号楼", []string{"row 1 (line 3)", "households (property 户数)", `"-3"`, "negative"}},
		{2, "3号楼", []string{"row 2 (line 4)", "residents (property 人口)", `"2.5"`, "not a whole number"}},
		{3, "4号楼", []string{"row 3 (line 5)", "looks like lat,lon"}},
		{4, "5号楼", []string{"row 4 (line 6)", "纬度", "not numbers"}},
		{5, "6号楼", []string{"row 5 (line 7)", "households (property 户数)", "not a number"}},
	}
	if len(rejected) != len(want) {
		t.Fatalf("rejected %v, want %d", rejected, len(want))
	}
	for i, w := range want {
		r := rejected[i]
		if r.Index != w.index || r.Code != w.code {
			t.Errorf("rejection %d: %v, want index %d code %s", i, r, w.index, w.code)
		}
		for _, p := range w.parts {
			if !strings.Contains(r.Reason, p) {
				t.Errorf("rejection %d: %q, want %q in it", i, r.Reason, p)
			}
		}
	}

	// A GeoJSON line and a missing geometry are refused by feature.
	file := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"户数":1},"geometry":{"type":"LineString","coordinates":[[116.4,39.9],[116.5,39.9]]}},
		{"type":"Feature","properties":{"户数":1},"geometry":null}]}`
	_, rejected, _, err = ReadBuildingsGeoJSON([]byte(file), geo.WGS84, FieldMap{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 2 || !strings.Contains(rejected[0].String(), "feature 0") || !strings.Contains(rejected[0].Reason, "LineString") ||
		!strings.Contains(rejected[1].String(), "feature 1") || !strings.Contains(rejected[1].Reason, "missing") {
		t.Errorf("rejected %v", rejected)
	}
}

func TestBuildingsFileWithoutCounts(t *testing.T) {
	// Neither households nor residents is recognised: the whole file is
	// refused rather than read as empty buildings.
	csv := "lon,lat,楼栋号,住户\n116.401,39.901,1号楼,10\n"
	_, _, _, err := ReadBuildingsCSV(strings.NewReader(csv), geo.WGS84, FieldMap{})
	var ie *InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "--field households=PROPERTY") || !strings.Contains(err.Error(), "住户") {
		t.Errorf("err %v, want an invalid-field error naming the properties and --field", err)
	}
}

func TestBuildingFieldsDoNotWarnDivisions(t *testing.T) {
	// A division file with a population column keeps it as attrs without
	// calling it a building field.
	m, err := FieldMap{Kind: DivisionFields}.Resolve([]string{"code", "name", "population"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != 0 || len(m.Attrs) != 1 {
		t.Errorf("mapping %+v", m)
	}
}
