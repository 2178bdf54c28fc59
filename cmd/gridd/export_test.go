package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"gridd/grids/postgis"
	"gridd/grids/postgis/pgtest"
	"gridd/tiles"
)

func TestExportMBTiles(t *testing.T) {
	url := pgtest.NewURL(t)
	ctx := context.Background()
	st, err := postgis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A 4x4 block of 0.005° grids over 116.40-116.42, 39.90-39.92.
	if _, err := st.Pool().Exec(ctx, `INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT '110101001007' || lpad((r * 4 + k + 1)::text, 3, '0'), '110101001007', '110101001', '110101',
		       ST_MakeEnvelope(116.40 + k * 0.005, 39.915 - r * 0.005, 116.405 + k * 0.005, 39.92 - r * 0.005, 4326), 1
		FROM generate_series(0, 3) r, generate_series(0, 3) k`); err != nil {
		t.Fatal(err)
	}
	e := &env{log: nil, stdout: os.Stdout, stderr: os.Stderr}
	out := filepath.Join(t.TempDir(), "grids.mbtiles")
	if err := runExport(ctx, e, []string{"mbtiles", "--db", url, "--layers", "grids", "--minzoom", "12", "--maxzoom", "15", out}); err != nil {
		t.Fatal(err)
	}
	if err := runExport(ctx, e, []string{"mbtiles", "--db", url, "--layers", "roads", out}); err == nil || !strings.Contains(err.Error(), "valid layers") {
		t.Errorf("unknown layer: %v", err)
	}

	db, err := sql.Open("sqlite", out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	meta := map[string]string{}
	rows, err := db.Query(`SELECT name, value FROM metadata`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v) //nolint:errcheck
		meta[k] = v
	}
	if meta["format"] != "pbf" || meta["minzoom"] != "12" || meta["maxzoom"] != "15" ||
		!strings.Contains(meta["json"], `"id":"grids"`) || !strings.HasPrefix(meta["bounds"], "116.400000,39.900000,116.420000,39.920000") {
		t.Errorf("metadata %v", meta)
	}
	// Every tile over the grids' extent holds grids, so each is exported.
	bound := orb.Bound{Min: orb.Point{116.40, 39.90}, Max: orb.Point{116.42, 39.92}}
	svc := tiles.NewService(st, 0, 0)
	grids, _ := tiles.ParseLayers("grids")
	for z := 12; z <= 15; z++ {
		x0, y0, x1, y1 := tiles.Covering(bound, z)
		var n int
		db.QueryRow(`SELECT count(*) FROM tiles WHERE zoom_level = ?`, z).Scan(&n) //nolint:errcheck
		if want := (x1 - x0 + 1) * (y1 - y0 + 1); n != want {
			t.Errorf("zoom %d: %d tiles, want %d", z, n, want)
		}
		// Rows are TMS: the XYZ tile (x0, y0) is row 2^z-1-y0, and holds the
		// same MVT as the server renders.
		var data []byte
		if err := db.QueryRow(`SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`,
			z, x0, (1<<z)-1-y0).Scan(&data); err != nil {
			t.Fatalf("zoom %d tile %d/%d: %v", z, x0, y0, err)
		}
		ls, err := mvt.UnmarshalGzipped(data)
		if err != nil || len(ls) != 1 || ls[0].Name != "grids" || len(ls[0].Features) == 0 {
			t.Fatalf("zoom %d tile: %v, %d layers", z, err, len(ls))
		}
		want, err := svc.Render(ctx, grids, tiles.ID{Z: z, X: x0, Y: y0})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Gzipped(), data) {
			t.Errorf("zoom %d tile %d/%d differs from the served tile", z, x0, y0)
		}
	}
}
