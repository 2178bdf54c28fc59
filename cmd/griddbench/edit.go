package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"gridd/geo"
	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// The edit section measures the partition guard on a whole-district write
// (169 communities of 25 grids, 4,225 grids, in one transaction, as the
// builder's full rebuild does) against the same write with the guard's
// triggers disabled, the latency of a split changeset, and the time from an
// edit's commit to the changed tile served fresh.
func init() {
	sections["edit"] = section{order: 50, run: benchEdit}
}

const (
	editBenchSide  = 13 // communities per side
	editBenchCells = 5  // cells per community side
	editBenchDLon  = 0.00117
	editBenchDLat  = 0.0009
)

func benchEdit(ctx context.Context, b *bench) error {
	side := editBenchSide
	if b.quick {
		side = 6
	}
	// Divisions: one street per row of communities.
	_, err := b.pool.Exec(ctx, `
		INSERT INTO districts (code, name, geom) VALUES ('110101', '东城区',
			ST_Multi(ST_MakeEnvelope(116.3 - 0.01, 39.8 - 0.01, 116.3 + $1::int * $2::int * $3::float8 + 0.01, 39.8 + $1::int * $2::int * $4::float8 + 0.01, 4326)));
	`, side, editBenchCells, editBenchDLon, editBenchDLat)
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `
		INSERT INTO streets (code, name, parent_code, geom)
		SELECT '110101' || lpad(cj::text, 3, '0'), '街道' || cj, '110101',
			ST_Multi(ST_MakeEnvelope(116.3, 39.8 + (cj - 1) * $2::int * $4::float8, 116.3 + $1::int * $2::int * $3::float8, 39.8 + cj * $2::int * $4::float8, 4326))
		FROM generate_series(1, $1::int) cj`, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `
		INSERT INTO communities (code, name, parent_code, geom)
		SELECT '110101' || lpad(cj::text, 3, '0') || lpad(ci::text, 3, '0'), '社区' || cj || '-' || ci, '110101' || lpad(cj::text, 3, '0'),
			ST_Multi(ST_MakeEnvelope(116.3 + ((ci - 1) * $2::int) * $3::float8, 39.8 + ((cj - 1) * $2::int) * $4::float8,
			                         116.3 + (ci * $2::int) * $3::float8, 39.8 + (cj * $2::int) * $4::float8, 4326))
		FROM generate_series(1, $1::int) cj, generate_series(1, $1::int) ci`, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
		return err
	}
	insertAll := `
		INSERT INTO unit_grids (code, community_code, street_code, district_code, geom, area_m2)
		SELECT c || lpad((( $2::int - 1 - j) * $2::int + i + 1)::text, 3, '0'), c, left(c, 9), left(c, 6),
			ST_MakeEnvelope(116.3 + ((ci - 1) * $2::int + i) * $3::float8, 39.8 + ((cj - 1) * $2::int + j) * $4::float8,
			                116.3 + ((ci - 1) * $2::int + i + 1) * $3::float8, 39.8 + ((cj - 1) * $2::int + j + 1) * $4::float8, 4326), 10000
		FROM generate_series(1, $1::int) cj, generate_series(1, $1::int) ci,
			LATERAL (SELECT '110101' || lpad(cj::text, 3, '0') || lpad(ci::text, 3, '0') AS c) cc,
			generate_series(0, $2::int - 1) i, generate_series(0, $2::int - 1) j`
	retireAll := `UPDATE unit_grids SET valid_to = now() WHERE valid_to IS NULL`
	n := side * side * editBenchCells * editBenchCells
	// Without the guard, its triggers are disabled around the timed
	// transaction, not inside it: ALTER TABLE refuses a table with the
	// transaction's deferred trigger events pending.
	guardTriggers := func(on bool) error {
		verb := "DISABLE"
		if on {
			verb = "ENABLE"
		}
		_, err := b.pool.Exec(ctx, `ALTER TABLE unit_grids `+verb+` TRIGGER gridd_partition_guard_ins, `+
			verb+` TRIGGER gridd_partition_guard_upd, `+verb+` TRIGGER gridd_partition_touched`)
		return err
	}
	write := func(guard bool) (time.Duration, error) {
		if !guard {
			if err := guardTriggers(false); err != nil {
				return 0, err
			}
			defer guardTriggers(true)
		}
		return timeIt(func() error {
			return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, retireAll); err != nil {
					return err
				}
				// Codes of a rebuild are new; shift them by the round.
				if _, err := tx.Exec(ctx, `DELETE FROM unit_grids WHERE valid_to IS NOT NULL`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, insertAll, side, editBenchCells, editBenchDLon, editBenchDLat); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`)
				return err
			})
		})
	}
	if _, err := write(true); err != nil { // warm up, and the first build
		return fmt.Errorf("first build: %w", err)
	}
	// Runs alternate which of the two writes goes first.
	var with, without []float64
	for run := range b.runs {
		for _, guard := range []bool{run%2 == 0, run%2 == 1} {
			d, err := write(guard)
			if err != nil {
				return fmt.Errorf("rebuild (guard %v): %w", guard, err)
			}
			if guard {
				with = append(with, d.Seconds()*1e3)
			} else {
				without = append(without, d.Seconds()*1e3)
			}
		}
	}
	sWith, sWithout := statOf(with), statOf(without)
	b.addStats(fmt.Sprintf("district rebuild write, %d grids / %d communities, guard on (guard %s of the 10 s build)",
		n, side*side, fmtMS(sWith.Median-sWithout.Median)), "ms", sWith, &sWithout, "the same write, guard off", fmtMS, "")

	// Split changesets, end to end, against the bare ST_Split; each on a
	// grid of its own (the centre grid, 013, of community k).
	st := postgis.NewStore(b.pool)
	per := 4
	if b.quick {
		per = 2
	}
	if b.runs*per > side*side {
		per = max(1, side*side/b.runs)
	}
	gridOf := func(k int, cell string) geo.Code {
		return geo.Code(fmt.Sprintf("110101%03d%03d%s", k/side+1, k%side+1, cell))
	}
	var splits, bares []float64
	k := 0
	for range b.runs {
		var total, bare time.Duration
		for range per {
			code := gridOf(k, "013")
			k++
			g, err := st.Grid(ctx, code)
			if err != nil {
				return err
			}
			c := g.Geom.Bound().Center()
			ln := geojson.NewGeometry(orb.LineString{{c[0], c[1] - 0.01}, {c[0], c[1] + 0.01}})
			d, err := timeIt(func() error {
				_, err := b.pool.Exec(ctx, `SELECT ST_Split(geom, ST_SetSRID(ST_MakeLine(ST_MakePoint($2, $3), ST_MakePoint($2, $4)), 4326))
					FROM unit_grids WHERE code = $1 AND valid_to IS NULL`, string(code), c[0], c[1]-0.01, c[1]+0.01)
				return err
			})
			if err != nil {
				return err
			}
			bare += d
			d, err = timeIt(func() error {
				_, err := st.ApplyChangeset(ctx, "bench", grids.ChangesetRequest{Message: "bench split",
					Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: code, Version: g.Version}}, Line: ln}}})
				return err
			})
			if err != nil {
				return fmt.Errorf("split %s: %w", code, err)
			}
			total += d
		}
		splits = append(splits, total.Seconds()*1e3/float64(per))
		bares = append(bares, bare.Seconds()*1e3/float64(per))
	}
	sBare := statOf(bares)
	b.addStats(fmt.Sprintf("split changeset (guard, history, lineage), mean of %d a run", per), "ms", statOf(splits), &sBare,
		"bare ST_Split", fmtMS, "edit visible ≤ 1 s")

	if err := benchEditToTiles(ctx, b, st, side, gridOf); err != nil {
		return err
	}
	return benchEditToReplica(ctx, b, st, side, gridOf)
}

// benchEditToTiles times an edit's way to the map: a tile server follows
// the change feed as gridd serve does (NOTIFY, 500 ms version poll); the
// z16 tile over a grid is cached and compressed, a split changeset of the
// grid commits, and a browser-like client revalidates the tile (If-None-Match,
// gzip accepted) every millisecond until it gets the new tile, which must
// draw a grid the split created. The figure is the time from the changeset's
// return (its commit) to that answer, over repeated edits of distinct grids.
func benchEditToTiles(ctx context.Context, b *bench, st *postgis.Store, side int, gridOf func(int, string) geo.Code) error {
	svc, srv := benchTileServer(st)
	defer srv.Close()
	feedCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var applied atomic.Int64
	go st.Listen(feedCtx, 500*time.Millisecond, func(c grids.Change) { svc.Apply(c); applied.Add(1) }) //nolint:errcheck
	time.Sleep(300 * time.Millisecond)                                                                 // LISTEN in place
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	layers, _ := tiles.ParseLayers("grids")
	get := func(url, etag string) (int, string, []byte, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", browserAccept)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
				body, err = io.ReadAll(zr)
			}
		}
		return resp.StatusCode, resp.Header.Get("ETag"), body, err
	}
	edits := b.runs * 4
	if b.quick {
		edits = b.runs * 2
	}
	edits = min(edits, side*side)
	var lat []float64
	for k := range edits {
		code := gridOf(k, "007")
		g, err := st.Grid(ctx, code)
		if err != nil {
			return err
		}
		c := g.Geom.Bound().Center()
		x, y, _, _ := tiles.Covering(orb.Bound{Min: c, Max: c}, 16)
		id := tiles.ID{Z: 16, X: x, Y: y}
		url := fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", srv.URL, id.Z, id.X, id.Y)
		if _, _, _, err := get(url, ""); err != nil {
			return err
		}
		t, _, err := svc.Tile(ctx, layers, id)
		if err != nil {
			return err
		}
		<-t.Ready()
		status, etag, _, err := get(url, "")
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("tile %s before the edit: %d %v", id, status, err)
		}
		ln := geojson.NewGeometry(orb.LineString{{c[0], c[1] - 0.01}, {c[0], c[1] + 0.01}})
		cs, err := st.ApplyChangeset(ctx, "bench", grids.ChangesetRequest{Message: "bench split",
			Operations: []grids.Operation{{Op: grids.Split, Grids: []grids.GridRef{{Code: code, Version: g.Version}}, Line: ln}}})
		if err != nil {
			return fmt.Errorf("split %s: %w", code, err)
		}
		t0 := time.Now()
		if len(cs.Result.Created) == 0 {
			return fmt.Errorf("split %s created no grid", code)
		}
		created := string(cs.Result.Created[0].Code)
		for {
			status, _, body, err := get(url, etag)
			if err != nil {
				return err
			}
			if status == http.StatusOK {
				if !drawsGrid(body, created) {
					return fmt.Errorf("tile %s changed after the split of %s but does not draw its new grid %s", id, code, created)
				}
				break
			}
			if time.Since(t0) > time.Minute {
				return fmt.Errorf("tile %s still the old one a minute after the split of %s", id, code)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(t0).Seconds()*1e3)
	}
	sorted := append([]float64(nil), lat...)
	sort.Float64s(sorted)
	p99 := sorted[min(len(sorted)-1, int(0.99*float64(len(sorted))))]
	b.addStats(fmt.Sprintf("edit committed → changed tile served fresh (z16 grids, gzip), %d edits, p99 %s, %d changes applied",
		len(lat), fmtMS(p99), applied.Load()), "ms", statOf(lat), nil, "", fmtMS, "≤ 1 s")
	return nil
}

// drawsGrid reports whether an MVT draws the grid's polygon.
func drawsGrid(data []byte, code string) bool {
	ls, err := mvt.Unmarshal(data)
	if err != nil {
		return false
	}
	for _, l := range ls {
		for _, f := range l.Features {
			if _, isPoint := f.Geometry.(orb.Point); !isPoint && f.Properties["code"] == code {
				return true
			}
		}
	}
	return false
}
