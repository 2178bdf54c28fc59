package postgis

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/catalog"
	"gridd/tiles"
)

// Every method the HTTP API reaches says grids.ErrUnavailable when the
// database cannot be reached, so that the API answers 503 with Retry-After
// rather than 500. No server is needed: the pool points at a port nothing
// listens on.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg, err := pgxpool.ParseConfig("postgres://gridd@" + addr + "/gridd?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := NewStore(pool)
	st.SetTimeouts(ServeTimeouts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	grid := geo.Code("110101001001001")
	ref := grids.GridRef{Code: grid, Version: 1}
	square := orb.Polygon{{{116.40, 39.90}, {116.41, 39.90}, {116.41, 39.91}, {116.40, 39.91}, {116.40, 39.90}}}
	feature := grids.ComponentFeature{ClassCode: "01001", Geom: orb.Point{116.405, 39.905}}
	feature.Name, feature.Status = "hydrant", "intact"
	dept := grids.Department{Code: "11110101MB1234567X", Name: "Roads office"}
	rule := grids.Rule{Class: grids.Class{Code: "01001"}, Department: grids.DepartmentRef{Code: dept.Code}}
	layers := tiles.Layers
	calls := map[string]func() error{
		"Ready":        func() error { return st.Ready(ctx) },
		"MapVersion":   func() error { _, err := st.MapVersion(ctx); return err },
		"IndexInput":   func() error { _, err := st.IndexInput(ctx); return err },
		"Authenticate": func() error { _, err := st.Authenticate(ctx, "gridd_"+strings.Repeat("x", 43)); return err },
		"Division":     func() error { _, _, err := st.Division(ctx, "110101"); return err },
		"Children":     func() error { _, err := st.Children(ctx, "110101"); return err },
		"ApplyChangeset": func() error {
			_, err := st.ApplyChangeset(ctx, "t", grids.ChangesetRequest{Message: "m",
				Operations: []grids.Operation{{Op: grids.Redraw, Grids: []grids.GridRef{ref}, Geometry: geojson.NewGeometry(square)}}})
			return err
		},
		"RevertChangeset": func() error { _, err := st.RevertChangeset(ctx, "t", 1, "m"); return err },
		"Changeset":       func() error { _, err := st.Changeset(ctx, 1); return err },
		"Grid":            func() error { _, err := st.Grid(ctx, grid); return err },
		"Grids":           func() error { _, err := st.Grids(ctx, grid.At(geo.Community)); return err },
		"GridHistory":     func() error { _, err := st.GridHistory(ctx, grid); return err },
		"UpdateGrid": func() error {
			_, err := st.UpdateGrid(ctx, "t", ref, grids.GridAttributes{}, square, "m")
			return err
		},
		"CarveGrid":    func() error { _, err := st.CarveGrid(ctx, "t", square, grids.GridAttributes{}, "m"); return err },
		"DissolveGrid": func() error { _, err := st.DissolveGrid(ctx, "t", ref, "m"); return err },
		"Items":        func() error { _, err := st.Items(ctx, "grids", grids.FeatureQuery{Limit: 10}); return err },
		"Item":         func() error { _, err := st.Item(ctx, "grids", string(grid)); return err },
		"Classes":      func() error { _, err := st.Classes(ctx, catalog.Component, ""); return err },
		"Class":        func() error { _, err := st.Class(ctx, catalog.Component, "01001"); return err },
		"LegacyClass":  func() error { _, err := st.LegacyClass(ctx, catalog.Component, "0101"); return err },
		"ImportComponents": func() error {
			_, err := st.ImportComponents(ctx, []grids.ComponentFeature{feature}, grids.ComponentImport{Actor: "t"})
			return err
		},
		"Component":        func() error { _, err := st.Component(ctx, "11010101001000001"); return err },
		"SearchComponents": func() error { _, err := st.SearchComponents(ctx, grids.ComponentQuery{Limit: 10}); return err },
		"RetireComponent":  func() error { return st.RetireComponent(ctx, "11010101001000001", 0, "t", "r") },
		"ComponentHistory": func() error { _, err := st.ComponentHistory(ctx, "11010101001000001"); return err },
		"History":          func() error { _, err := st.History(ctx, "component", ""); return err },
		"HistoryEntry":     func() error { _, err := st.HistoryEntry(ctx, 1); return err },
		"RevertChange":     func() error { _, err := st.RevertChange(ctx, 1, "t", "r"); return err },
		"Build": func() error {
			_, err := st.Build(ctx, grids.BuildRequest{Area: "110101"}, nil)
			return err
		},
		"CreateMgmtGrid": func() error {
			_, err := st.CreateMgmtGrid(ctx, "M-1", "m", []geo.Code{grid}, "t", "r")
			return err
		},
		"MgmtGrid": func() error { _, err := st.MgmtGrid(ctx, "M-1"); return err },
		"Place":    func() error { _, err := st.Place(ctx, string(grid)); return err },
		"RenderTile": func() error {
			_, err := st.RenderTile(ctx, layers, tiles.ID{Z: 14, X: 13489, Y: 6208}, tiles.RenderOptions{})
			return err
		},
		"DataBounds":         func() error { _, err := st.DataBounds(ctx, layers); return err },
		"RulesFor":           func() error { _, err := st.RulesFor(ctx, []grids.Class{rule.Class}, nil); return err },
		"TerritorialOffices": func() error { _, err := st.TerritorialOffices(ctx, []geo.Code{grid}); return err },
		"SaveReport":         func() error { _, err := st.SaveReport(ctx, grids.Report{}); return err },
		"CompetentDepartment": func() error {
			_, _, err := st.CompetentDepartment(ctx, "11010101001000001")
			return err
		},
		"Departments":      func() error { _, err := st.Departments(ctx); return err },
		"PutDepartment":    func() error { _, err := st.PutDepartment(ctx, dept, "t", "r"); return err },
		"RetireDepartment": func() error { return st.RetireDepartment(ctx, dept.Code, "t", "r") },
		"Rules":            func() error { _, err := st.Rules(ctx); return err },
		"AddRule":          func() error { _, err := st.AddRule(ctx, rule, "t", "r"); return err },
		"RetireRule":       func() error { return st.RetireRule(ctx, 1, "t", "r") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, grids.ErrUnavailable) {
			t.Errorf("%s with the database unreachable: %v, want grids.ErrUnavailable", name, err)
		}
	}
	// A secret not shaped like gridd's is refused without the database.
	for _, secret := range []string{"gridd_x", "", "gridd_" + strings.Repeat("x", 42), "gridd_" + strings.Repeat("*", 43), strings.Repeat("x", 49)} {
		if _, err := st.Authenticate(ctx, secret); !errors.Is(err, grids.ErrNotFound) {
			t.Errorf("Authenticate(%q) with the database unreachable: %v, want grids.ErrNotFound", secret, err)
		}
	}
}
