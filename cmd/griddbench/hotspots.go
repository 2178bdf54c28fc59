package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"gridd/grids"
	"gridd/grids/postgis"
	"gridd/tiles"
)

// The hot-spots section: a year of reports over the demo district (1M, or
// 100k with -quick), 70% of them around 60 hot spots, counted in their H3
// cells as gridd does for reports stored in bulk (Store.IndexReportCells);
// then the hot-spot tile at zooms 10 to 16 over the hottest spot, as the
// dashboard asks for it (Store.HotspotTile: no tile cache, so every
// request is cold in gridd's terms), against PostGIS aggregating the
// reports in hexagons at request time (ST_HexagonGrid of about the same
// size over the tile, a GiST index on the reports' Web-Mercator points),
// which is what the tile would cost without the counts kept per cell.

func init() {
	sections["hotspots"] = section{order: 62, run: benchHotspots}
}

// benchHexagonSQL: $1 z, $2 x, $3 y, $4 the hexagons' size (metres, centre
// to vertex in Web Mercator).
const benchHexagonSQL = `
SELECT coalesce(ST_AsMVT(t, 'hotspots', 4096, 'geom'), ''::bytea) FROM (
    SELECT count(*)::int AS reports, ST_AsMVTGeom(h.geom, ST_TileEnvelope($1, $2, $3), 4096, 64) AS geom
    FROM ST_HexagonGrid($4, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)) h
    JOIN bench_report_points p ON p.geom && h.geom AND ST_Intersects(p.geom, h.geom)
    GROUP BY h.geom
) t`

func benchHotspots(ctx context.Context, b *bench) error {
	st := postgis.NewStore(b.pool)
	if _, err := benchDivisions(ctx, st); err != nil {
		return err
	}
	var ext orb.Bound
	if err := b.pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_Extent(geom) e FROM districts WHERE valid_to IS NULL) x`).
		Scan(&ext.Min[0], &ext.Min[1], &ext.Max[0], &ext.Max[1]); err != nil {
		return err
	}
	n := 1_000_000
	if b.quick {
		n = 100_000
	}
	// The reports: uniform over the district's extent, or within about
	// 150 m of one of the hot spots; times spread over the past year.
	rng := rand.New(rand.NewPCG(62, 1))
	spots := make([]orb.Point, 60)
	for i := range spots {
		spots[i] = orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])}
	}
	year := time.Now().AddDate(-1, 0, 0)
	start := time.Now()
	const chunk = 100_000
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		xs, ys, ats := make([]float64, m), make([]float64, m), make([]time.Time, m)
		for i := range m {
			var p orb.Point
			if rng.Float64() < 0.7 {
				s := spots[rng.IntN(len(spots))]
				p = orb.Point{s[0] + rng.NormFloat64()*0.0015, s[1] + rng.NormFloat64()*0.0012}
			} else {
				p = orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])}
			}
			xs[i], ys[i] = p[0], p[1]
			ats[i] = year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		}
		if _, err := b.pool.Exec(ctx, `INSERT INTO reports (at, actor, input_crs, input_lon, input_lat, geom, scheme, kind, class,
				grid_code, grid_version, community_code, street_code, district_code, snapped, distance_m, map_version,
				decided_by, reason, result)
			SELECT at, 'bench', 'wgs84', x, y, ST_SetSRID(ST_MakePoint(x, y), 4326), 'gb2026', 'matter', '06010',
				'110101001001001', 1, '110101001001', '110101001', '110101', false, 0, 1, 'none', 'bench', '{}'
			FROM unnest($1::float8[], $2::float8[], $3::timestamptz[]) AS u(x, y, at)`, xs, ys, ats); err != nil {
			return fmt.Errorf("bench reports: %w", err)
		}
	}
	loaded := time.Since(start)
	start = time.Now()
	counted, err := st.IndexReportCells(ctx)
	if err != nil {
		return err
	}
	index := time.Since(start)
	// The baseline's points, with their index.
	if _, err := b.pool.Exec(ctx, `CREATE TABLE bench_report_points AS SELECT id, ST_Transform(geom, 3857) AS geom FROM reports;
		CREATE INDEX ON bench_report_points USING gist (geom); ANALYZE`); err != nil {
		return err
	}
	var cells int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM report_cells`).Scan(&cells); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "  %d reports loaded in %.1f s; counted in their H3 cells in %.1f s (%.0f reports/s, %d cell-months)\n",
		n, loaded.Seconds(), index.Seconds(), float64(counted)/index.Seconds(), cells)

	// The hottest spot: the resolution-8 cell with the most reports.
	var hot orb.Point
	if err := b.pool.QueryRow(ctx, `SELECT ST_X(c), ST_Y(c) FROM (
			SELECT ST_Transform(ST_Centroid(h.geom), 4326) c FROM report_cells r JOIN h3_cells h USING (res, cell)
			WHERE r.res = 8 GROUP BY h.geom ORDER BY sum(r.reports) DESC LIMIT 1) x`).Scan(&hot[0], &hot[1]); err != nil {
		return err
	}
	now := time.Now().In(grids.ChinaTime)
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, grids.ChinaTime)
	from := to.AddDate(-1, 0, 0)
	for _, z := range []int{10, 12, 14, 16} {
		mt := maptile.At(hot, maptile.Zoom(z))
		id := tiles.ID{Z: z, X: int(mt.X), Y: int(mt.Y)}
		res := postgis.HotspotResolution(z)
		// Hexagons of about the H3 cells' size: the same area.
		var area float64
		if err := b.pool.QueryRow(ctx, `SELECT avg(ST_Area(geom)) FROM h3_cells WHERE res = $1`, res).Scan(&area); err != nil {
			return err
		}
		size := math.Sqrt(2 * area / (3 * math.Sqrt(3)))
		var feats int
		gridd := func() (float64, error) {
			t0 := time.Now()
			tile, err := st.HotspotTile(ctx, id, from, to)
			if err != nil {
				return 0, err
			}
			feats = len(tile)
			return float64(time.Since(t0).Microseconds()) / 1000, nil
		}
		var bareBytes int
		bare := func() (float64, error) {
			t0 := time.Now()
			var tile []byte
			if err := b.pool.QueryRow(ctx, benchHexagonSQL, z, id.X, id.Y, size).Scan(&tile); err != nil {
				return 0, err
			}
			bareBytes = len(tile)
			return float64(time.Since(t0).Microseconds()) / 1000, nil
		}
		// Each once to warm PostgreSQL's buffers alike, then in turns.
		if _, err := gridd(); err != nil {
			return err
		}
		if _, err := bare(); err != nil {
			return err
		}
		var gs, ps []float64
		runs := max(b.runs, 3)
		for range runs {
			g, err := gridd()
			if err != nil {
				return err
			}
			p, err := bare()
			if err != nil {
				return err
			}
			gs, ps = append(gs, g), append(ps, p)
		}
		fmt.Fprintf(os.Stderr, "  z%d (resolution %d): tile %d bytes, hexagon baseline %d bytes\n", z, res, feats, bareBytes)
		sG, sP := statOf(gs), statOf(ps)
		b.addStats(fmt.Sprintf("hot-spot tile z%d over %s reports, H3 resolution %d, a year (no tile cache: cold)", z, countLabel(n), res),
			"ms/tile", sG, &sP, "ST_HexagonGrid of the same size, reports aggregated at request time", fmtMS, "≤ 50 ms")
	}
	return nil
}

func countLabel(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%gM", float64(n)/1e6)
	}
	return fmt.Sprintf("%dk", n/1000)
}
