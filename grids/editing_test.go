package grids_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
)

func TestLimitsCheck(t *testing.T) {
	l := grids.DefaultLimits
	tests := []struct {
		name     string
		area     float64
		width    float64
		warnings []string
		err      string
	}{
		{"typical grid", 10000, 80, nil, ""},
		{"small but allowed", 4000, 50, []string{"area"}, ""},
		{"large", 16000, 90, []string{"area"}, ""},
		{"narrow", 9000, 15, []string{"width"}, ""},
		{"small and narrow", 3000, 12, []string{"area", "width"}, ""},
		{"below the hard area floor", 2500, 40, nil, "below the hard limit of 2500 m²"},
		{"a sliver", 6000, 9.5, nil, "9.5 m wide, below the hard limit of 10 m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := l.Check("operations[0]", "110101001007003", tt.area, tt.width)
			if tt.err != "" {
				var inv *grids.InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "110101001007003") {
					t.Fatalf("got %v, want an InvalidError naming the grid with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, w := range ws {
				kinds = append(kinds, w.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.warnings, ",") {
				t.Errorf("warnings %v, want %v", kinds, tt.warnings)
			}
		})
	}
}

func TestChangesetValidate(t *testing.T) {
	ln := geojson.NewGeometry(orb.LineString{{116.40, 39.90}, {116.41, 39.91}})
	g := func(c string, v int) grids.GridRef { return grids.GridRef{Code: geo.Code(c), Version: v} }
	tests := []struct {
		name string
		req  grids.ChangesetRequest
		err  string
	}{
		{"good split", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{g("110101001007003", 1)}, Line: ln}}}, ""},
		{"no message", grids.ChangesetRequest{Operations: []grids.Operation{{Op: grids.Merge}}}, "message: a changeset needs a message"},
		{"no operations", grids.ChangesetRequest{Message: "m"}, "needs at least one operation"},
		{"unknown op", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: "twist"}}}, `operations[0].op: unknown operation "twist"`},
		{"split without line", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{g("110101001007003", 1)}}}}, "operations[0].line: a split needs a line"},
		{"no version", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{g("110101001007003", 0), g("110101001007004", 1)}}}}, "operations[0].grids[0].version"},
		{"community code as grid", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{g("110101001007", 1), g("110101001007004", 1)}}}}, "operations[0].grids[0].code"},
		{"two communities", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{g("110101001007003", 1), g("110101001008004", 1)}}}}, "different communities"},
		{"listed twice", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Merge, Grids: []grids.GridRef{g("110101001007003", 1), g("110101001007003", 1)}}}}, "listed twice"},
		{"line outside China", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{g("110101001007003", 1)},
			Line: geojson.NewGeometry(orb.LineString{{39.9, 116.4}, {39.91, 116.41}})}}}, "operations[0].line: line point 0 (39.9, 116.4) is not a WGS-84 lon,lat within lon 73..136, lat 3..54"},
		{"bow-tie redraw", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Redraw, Grids: []grids.GridRef{g("110101001007003", 1)},
			Geometry: geojson.NewGeometry(orb.Polygon{{{116.4, 39.9}, {116.401, 39.901}, {116.401, 39.9}, {116.4, 39.901}, {116.4, 39.9}}})}}},
			"operations[0].geometry: ring 0 crosses itself at 116.4005, 39.9005 (edges 0 and 2)"},
		{"replace part with its hole outside", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Replace, Grids: []grids.GridRef{g("110101001007003", 1)},
			Parts: []grids.Part{{Geometry: geojson.NewGeometry(orb.Polygon{{{116.4, 39.9}, {116.401, 39.9}, {116.401, 39.901}, {116.4, 39.9}},
				{{116.402, 39.9}, {116.403, 39.9}, {116.403, 39.901}, {116.402, 39.9}}})}}}}},
			"operations[0].parts[0].geometry: hole 1 (ring 1) lies outside the shell"},
		{"split by a huge line", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{g("110101001007003", 1)},
			Line: geojson.NewGeometry(make(orb.LineString, 200_000))}}}, "operations[0].line: line has 200000 points; at most 5000"},
		{"replace part with a foreign code", grids.ChangesetRequest{Message: "m", Operations: []grids.Operation{{Op: grids.Replace, Grids: []grids.GridRef{g("110101001007003", 1)},
			Parts: []grids.Part{{Code: "110101001007009", Geometry: geojson.NewGeometry(orb.Polygon{{{116.4, 39.9}, {116.41, 39.9}, {116.41, 39.91}, {116.4, 39.9}}})}}}}},
			"110101001007009 is not one of the replaced grids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("got %v, want %q", err, tt.err)
			}
		})
	}
}

func TestMoveVertices(t *testing.T) {
	p := orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}
	moved, n := grids.MoveVertices(p, []grids.VertexMove{{From: orb.Point{0, 0}, To: orb.Point{-0.5, 0}}}, 1e-9)
	if n != 2 || moved[0][0] != (orb.Point{-0.5, 0}) || moved[0][4] != (orb.Point{-0.5, 0}) {
		t.Errorf("moving the ring's first vertex: %v (%d moved); both closing points must move", moved, n)
	}
	if p[0][0] != (orb.Point{0, 0}) {
		t.Error("MoveVertices changed its input")
	}
	if _, n := grids.MoveVertices(p, []grids.VertexMove{{From: orb.Point{0.5, 0.5}, To: orb.Point{0, 0}}}, 1e-9); n != 0 {
		t.Errorf("a point that is not a vertex moved %d vertices", n)
	}
}

func TestStaleErrorMessage(t *testing.T) {
	e := &grids.StaleError{
		Stale:   []grids.GridRef{{Code: "110101001007003", Version: 2}, {Code: "110101001007009", Version: 1}},
		Current: []grids.GridRef{{Code: "110101001007003", Version: 4}, {Code: "110101001007009", Version: 0}},
	}
	for _, w := range []string{"grid 110101001007003 was edited against version 2, the current version is 4",
		"grid 110101001007009 version 1 is no longer current", "reload and retry"} {
		if !strings.Contains(e.Error(), w) {
			t.Errorf("%q lacks %q", e.Error(), w)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []grids.Role{grids.RoleViewer, grids.RoleReporter, grids.RoleEditor, grids.RoleAdmin} {
		got, err := grids.ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r, got, err)
		}
	}
	if !(grids.RoleViewer < grids.RoleReporter && grids.RoleReporter < grids.RoleEditor && grids.RoleEditor < grids.RoleAdmin) {
		t.Error("roles are not ordered viewer < reporter < editor < admin")
	}
	if _, err := grids.ParseRole("root"); err == nil {
		t.Error("ParseRole accepted root")
	}
}
