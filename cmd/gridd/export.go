package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"gridd/grids/postgis"
	"gridd/tiles"
)

func init() {
	commands["export"] = command{help: "export data: mbtiles FILE (vector tiles for offline dashboards); divisions|grids|components FILE (GeoPackage, Shapefile, GeoJSON)", run: runExport}
}

func runExport(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && slices.Contains(postgis.ExportKinds(), args[0]) {
		return runExportFeatures(ctx, e, args[0], args[1:])
	}
	if len(args) == 0 || args[0] != "mbtiles" {
		return errors.New("usage: gridd export mbtiles [--layers L1,L2] [--minzoom Z] [--maxzoom Z] [--bbox W,S,E,N] FILE\n   or: " + strings.TrimPrefix(exportFeaturesUsage, "usage: "))
	}
	fs := flag.NewFlagSet("export mbtiles", flag.ContinueOnError)
	db := dbFlag(fs)
	layerList := fs.String("layers", tiles.LayerNames(), "comma-separated layers, one MVT layer each")
	minZoom := fs.Int("minzoom", 10, "first zoom to export")
	maxZoom := fs.Int("maxzoom", 16, "last zoom to export")
	bboxFlag := fs.String("bbox", "", "WGS-84 area W,S,E,N to export (default: the extent of the layers' data)")
	workers := fs.Int("workers", 4, "tiles rendered at once")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: gridd export mbtiles [flags] FILE")
	}
	layers, err := tiles.ParseLayers(*layerList)
	if err != nil {
		return err
	}
	if *minZoom < 0 || *maxZoom > tiles.MaxZoom || *minZoom > *maxZoom {
		return fmt.Errorf("zooms %d..%d: want 0 <= minzoom <= maxzoom <= %d", *minZoom, *maxZoom, tiles.MaxZoom)
	}
	st, err := openStore(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := tiles.NewService(st, 0, 0)
	var bound orb.Bound
	if *bboxFlag != "" {
		if bound, err = parseBBox(*bboxFlag); err != nil {
			return err
		}
	} else if bound, err = svc.DataBounds(ctx, layers); err != nil {
		return err
	} else if bound == (orb.Bound{}) {
		return errors.New("the layers hold no data; nothing to export (or pass --bbox)")
	}
	n, err := exportMBTiles(ctx, svc, layers, bound, *minZoom, *maxZoom, max(1, *workers), fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "exported %s: %d tiles of %s, zooms %d-%d\n", fs.Arg(0), n, tiles.Key(layers), *minZoom, *maxZoom)
	return nil
}

func parseBBox(s string) (orb.Bound, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return orb.Bound{}, fmt.Errorf("--bbox %q: want W,S,E,N", s)
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return orb.Bound{}, fmt.Errorf("--bbox %q: part %d: %v", s, i+1, err)
		}
		v[i] = f
	}
	if v[0] >= v[2] || v[1] >= v[3] || v[0] < -180 || v[2] > 180 || v[1] < -90 || v[3] > 90 {
		return orb.Bound{}, fmt.Errorf("--bbox %q: want W < E and S < N within -180..180, -90..90", s)
	}
	return orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

// exportMBTiles writes the non-empty tiles of the layers over the bound into a
// new MBTiles 1.3 file (gzipped MVT, TMS rows), written beside path and
// renamed onto it only when complete. It returns the number of tiles.
func exportMBTiles(ctx context.Context, svc *tiles.Service, layers []*tiles.Layer, bound orb.Bound, minZ, maxZ, workers int, path string) (int, error) {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".partial")
	os.Remove(tmp)
	defer os.Remove(tmp)
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	for _, s := range []string{
		`CREATE TABLE metadata (name text, value text)`,
		`CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)`,
		`CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)`,
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("mbtiles schema: %w", err)
		}
	}
	tj := tiles.TileJSON("", layers, bound)
	vl, _ := json.Marshal(map[string]any{"vector_layers": tj["vector_layers"]})
	c := bound.Center()
	meta := map[string]string{
		"name": "gridd " + tiles.Key(layers), "format": "pbf", "type": "overlay", "version": "1",
		"description": "gridd vector tiles: " + tiles.Key(layers),
		"bounds":      fmt.Sprintf("%f,%f,%f,%f", bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]),
		"center":      fmt.Sprintf("%f,%f,%d", c[0], c[1], max(minZ, min(maxZ, tiles.FitZoom(bound)))),
		"minzoom":     strconv.Itoa(minZ), "maxzoom": strconv.Itoa(maxZ), "json": string(vl),
	}
	for k, v := range meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO metadata (name, value) VALUES (?, ?)`, k, v); err != nil {
			return 0, err
		}
	}

	type result struct {
		id   tiles.ID
		data []byte
		err  error
	}
	ids := make(chan tiles.ID)
	results := make(chan result)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				t, err := svc.Render(rctx, layers, id)
				var r result
				r.id, r.err = id, err
				if err == nil && len(t.Data) > 0 {
					r.data = t.Gzipped()
				}
				select {
				case results <- r:
				case <-rctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(ids)
		for z := minZ; z <= maxZ; z++ {
			x0, y0, x1, y1 := tiles.Covering(bound, z)
			for x := x0; x <= x1; x++ {
				for y := y0; y <= y1; y++ {
					select {
					case ids <- tiles.ID{Z: z, X: x, Y: y}:
					case <-rctx.Done():
						return
					}
				}
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	n := 0
	for r := range results {
		if r.err != nil {
			cancel()
			return 0, r.err
		}
		if r.data == nil {
			continue
		}
		row := (1 << r.id.Z) - 1 - r.id.Y // MBTiles rows count from the south (TMS)
		if _, err := tx.ExecContext(ctx, `INSERT INTO tiles VALUES (?, ?, ?, ?)`, r.id.Z, r.id.X, row, r.data); err != nil {
			cancel()
			return 0, err
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return n, nil
}
