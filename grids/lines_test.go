package grids_test

import (
	"errors"
	"strings"
	"testing"

	"gridd/geo"
	"gridd/grids"
)

func TestParseLines(t *testing.T) {
	const file = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":7,"class":"arterial","name":"东长安街"},"geometry":{"type":"LineString","coordinates":[[116.40,39.90],[116.41,39.90]]}},
{"type":"Feature","properties":{"id":"r8","class":"lane"},"geometry":{"type":"MultiLineString","coordinates":[[[116.40,39.90],[116.40,39.91]],[[116.41,39.90],[116.41,39.91]]]}},
{"type":"Feature","properties":{"id":9},"geometry":{"type":"LineString","coordinates":[[39.90,116.40],[39.91,116.40]]}},
{"type":"Feature","properties":{"id":10},"geometry":{"type":"Point","coordinates":[116.40,39.90]}},
{"type":"Feature","properties":{"id":11},"geometry":{"type":"LineString","coordinates":[[116.40,39.90]]}},
{"type":"Feature","properties":{"id":12},"geometry":null}
]}`
	feats, rejected, err := grids.ParseLines([]byte(file), geo.WGS84)
	if err != nil {
		t.Fatal(err)
	}
	if len(feats) != 2 || feats[0].SourceID != "7" || feats[0].Class != "arterial" || feats[0].Name != "东长安街" ||
		feats[1].SourceID != "r8" || len(feats[1].Geom) != 2 {
		t.Errorf("features %+v", feats)
	}
	want := []struct {
		index  int
		reason string
	}{{2, "looks like lat,lon"}, {3, "is a Point"}, {4, "needs at least 2"}, {5, "missing"}}
	if len(rejected) != len(want) {
		t.Fatalf("rejected %v", rejected)
	}
	for i, w := range want {
		if rejected[i].Index != w.index || !strings.Contains(rejected[i].Reason, w.reason) {
			t.Errorf("rejection %d: %+v, want index %d with %q", i, rejected[i], w.index, w.reason)
		}
	}

	gcj, _, err := grids.ParseLines([]byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[116.40,39.90],[116.41,39.90]]}}]}`), geo.GCJ02)
	if err != nil || len(gcj) != 1 {
		t.Fatal(err)
	}
	if d := geo.DistanceM(gcj[0].Geom[0][0], feats[0].Geom[0][0]); d < 100 || d > 1000 {
		t.Errorf("a GCJ-02 point moved %.0f m on conversion, want the 100-700 m offset", d)
	}

	var inv *grids.InvalidError
	if _, _, err := grids.ParseLines([]byte(`{"type":"Feature"}`), geo.WGS84); !errors.As(err, &inv) {
		t.Errorf("not a collection: %v", err)
	}
}

func TestParseMgmtGrid(t *testing.T) {
	tests := []struct {
		name, code, gname string
		members           []string
		want              string
	}{
		{"ok", "DHM-01", "东华门一网格", []string{"110101001001001", "110101001002003"}, ""},
		{"legacy 14-digit member", "DHM-02", "x", []string{"11010100100101"}, ""},
		{"bad code", "DHM 01", "x", []string{"110101001001001"}, "not a management grid code"},
		{"no name", "A", " ", []string{"110101001001001"}, "name"},
		{"no grids", "A", "x", nil, "at least one"},
		{"community code", "A", "x", []string{"110101001001"}, "want a grid code"},
		{"twice", "A", "x", []string{"110101001001001", "110101001001001"}, "twice"},
		{"two streets", "A", "x", []string{"110101001001001", "110101002001001"}, "different streets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, codes, err := grids.ParseMgmtGrid(tt.code, tt.gname, tt.members)
			if tt.want == "" {
				if err != nil || len(codes) != len(tt.members) {
					t.Fatalf("%v %v", codes, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBuildRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		req  grids.BuildRequest
		want string
	}{
		{"district", grids.BuildRequest{Area: "110101"}, ""},
		{"community, own target", grids.BuildRequest{Area: "110101001001", TargetM2: 20000}, ""},
		{"grid code", grids.BuildRequest{Area: "110101001001001"}, "unit-grid code"},
		{"bad code", grids.BuildRequest{Area: "1101"}, "4 digits"},
		{"negative target", grids.BuildRequest{Area: "110101", TargetM2: -1}, "positive"},
		{"tiny target", grids.BuildRequest{Area: "110101", TargetM2: 10}, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if (grids.BuildRequest{}).Target() != grids.DefaultTargetM2 {
		t.Error("the default target is not 10,000 m²")
	}
}
