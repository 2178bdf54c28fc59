package postgis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridd/grids"
	"gridd/h3"
	"gridd/tiles"
)

// Hot spots (migration 0020): reports counted per month in H3 cells of
// resolutions HotspotMinRes to HotspotMaxRes, written with the report, and
// drawn as vector tiles at the resolution that suits each zoom.

// The resolutions report_cells keeps: average hexagon edges from 8.5 km
// (5, drawn up to zoom 7) to 25 m (11, from zoom 15). Migration 0020 kept
// resolution 4 too, drawn at zooms 0-4 only, where a district is a few
// pixels: a report no longer counts there.
const (
	HotspotMinRes = 5
	HotspotMaxRes = 11
)

// HotspotResolution is the H3 resolution drawn at zoom z: each resolution's
// edge is √7 times shorter than the one before, each zoom halves the
// ground a pixel covers, so the resolution climbs by log(2)/log(√7) ≈ 0.71
// a zoom; the offset makes a hexagon 20 to 50 pixels across on a
// 512-pixel tile at China's latitudes (at zoom 14, resolution 10, edge 66 m).
func HotspotResolution(z int) int {
	r := int(math.Floor(0.712*float64(z) + 0.8))
	return min(max(r, HotspotMinRes), HotspotMaxRes)
}

// reportCells are a report's H3 cells: its cell at resolution 15 (kept
// with the report) and, for each kept resolution, the cell that holds the
// point and its outline (WKB, WGS-84).
type reportCells struct {
	h3    int64
	res   []int16
	cells []int64
	wkb   [][]byte
}

// cellsOf finds the cells of a report at p (WGS-84 longitude, latitude),
// with the outline of those for which outline says so (nil: all).
func cellsOf(p orb.Point, outline func(h3.Cell) bool) (reportCells, error) {
	c15, err := h3.LatLngToCell(p[1], p[0], 15)
	if err != nil {
		return reportCells{}, fmt.Errorf("report cell: %w", err)
	}
	rc := reportCells{h3: int64(c15)}
	// The cell holding the point at each resolution, not c15's parents:
	// H3's children do not exactly tile their parent, so a parent's
	// outline need not hold the point.
	for r := HotspotMinRes; r <= HotspotMaxRes; r++ {
		c, err := h3.LatLngToCell(p[1], p[0], r)
		if err != nil {
			return rc, fmt.Errorf("report cell: %w", err)
		}
		var b []byte
		if outline == nil || outline(c) {
			if b, err = toWKB(cellPolygon(c)); err != nil {
				return rc, err
			}
		}
		rc.res = append(rc.res, int16(r))
		rc.cells = append(rc.cells, int64(c))
		rc.wkb = append(rc.wkb, b)
	}
	return rc, nil
}

// cellPolygon is a cell's outline as a WGS-84 polygon (longitude,
// latitude). A cell crossing the antimeridian keeps its longitudes on one
// side (beyond ±180), so that the outline does not wrap round the world.
func cellPolygon(c h3.Cell) orb.Polygon {
	b := c.Boundary()
	ring := make(orb.Ring, 0, len(b)+1)
	west, east := false, false
	for _, v := range b {
		west = west || v[1] < -90
		east = east || v[1] > 90
	}
	for _, v := range b {
		lng := v[1]
		if west && east && lng < 0 {
			lng += 360
		}
		ring = append(ring, orb.Point{lng, v[0]})
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// countReportSQL counts the report r (id, at) of a statement in its
// cells $N (res), $N+1 (cell), $N+2 (outline): gridd_count_report
// (migrations 0021, 0023) with the report's id as the statement's answer.
func countReportSQL(n int) string {
	return fmt.Sprintf(`
SELECT r.id FROM r CROSS JOIN LATERAL gridd_count_report(r.id, r.at, $%d::smallint[], $%d::bigint[], $%d::bytea[])`, n, n+1, n+2)
}

// IndexReportCells counts the reports stored without their cells (before
// migration 0020, or loaded in bulk) in their hot-spot cells, a batch at a
// time, and returns how many it counted.
func (s *Store) IndexReportCells(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.indexReportCellsBatch(ctx, 10000)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// indexReportCellsBatch counts up to limit reports in one transaction: the
// cells are found here, then each report's cell, the new outlines and the
// batch's counts per cell and month are written in three statements.
func (s *Store) indexReportCellsBatch(ctx context.Context, limit int) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, ST_X(geom), ST_Y(geom), date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date
			FROM reports WHERE h3 IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		// A cell's index holds its resolution.
		type key struct {
			cell  h3.Cell
			month time.Time
		}
		var ids, h3s []int64
		counts := map[key]int32{}
		outlines := map[h3.Cell][]byte{}
		var id int64
		var p orb.Point
		var month time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &p[0], &p[1], &month}, func() error {
			rc, err := cellsOf(p, func(c h3.Cell) bool { _, ok := outlines[c]; return !ok })
			if err != nil {
				return fmt.Errorf("report %d: %w", id, err)
			}
			ids, h3s = append(ids, id), append(h3s, rc.h3)
			for i, c := range rc.cells {
				counts[key{h3.Cell(c), month}]++
				if rc.wkb[i] != nil {
					outlines[h3.Cell(c)] = rc.wkb[i]
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var ores []int16
		var ocells []int64
		var owkb [][]byte
		for c, b := range outlines {
			ores, ocells, owkb = append(ores, int16(c.Resolution())), append(ocells, int64(c)), append(owkb, b)
		}
		// Counts in key order (a cell's resolution lies above its other
		// bits, so by resolution first, as a report's cells come), so that
		// concurrent writers lock rows alike.
		keys := make([]key, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b key) int {
			return cmp.Or(cmp.Compare(a.cell, b.cell), a.month.Compare(b.month))
		})
		cres, ccells, cmonths, cn := make([]int16, len(keys)), make([]int64, len(keys)), make([]time.Time, len(keys)), make([]int32, len(keys))
		for i, k := range keys {
			cres[i], ccells[i], cmonths[i], cn[i] = int16(k.cell.Resolution()), int64(k.cell), k.month, counts[k]
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE reports r SET h3 = u.h3 FROM unnest($1::bigint[], $2::bigint[]) AS u(id, h3) WHERE r.id = u.id`, ids, h3s)
		b.Queue(`INSERT INTO h3_cells (res, cell, geom, area_m2)
			SELECT res, cell, ST_Transform(ST_GeomFromWKB(wkb, 4326), 3857), ST_Area(ST_GeomFromWKB(wkb, 4326)::geography)
			FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) AS u(res, cell, wkb)
			ON CONFLICT DO NOTHING`, ores, ocells, owkb)
		b.Queue(`INSERT INTO report_cells AS rc (res, cell, month, reports)
			SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::date[], $4::int[])
			ON CONFLICT (res, cell, month, stripe) DO UPDATE SET reports = rc.reports + EXCLUDED.reports`, cres, ccells, cmonths, cn)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("count reports in hot-spot cells: %w", translateCtx(ctx, err))
	}
	return n, nil
}

// hotspotTileSQL draws the cells of resolution RES under tile ($1, $2, $3)
// with their reports in the months [$4, $5]: feature id the cell, h3 its
// index in hexadecimal, reports, and density (reports a square kilometre).
// The resolution is inlined so that the planner picks its partial index.
const hotspotTileSQL = `
SELECT coalesce(ST_AsMVT(t, 'hotspots', 4096, 'geom', 'id'), ''::bytea) FROM (
    SELECT c.cell AS id, to_hex(c.cell) AS h3, c.res::int AS res, sum(r.reports)::int AS reports,
        round((sum(r.reports) * 1e6 / c.area_m2)::numeric, 2)::float8 AS density,
        ST_AsMVTGeom(c.geom, ST_TileEnvelope($1, $2, $3), 4096, 64) AS geom
    FROM h3_cells c JOIN report_cells r ON r.res = c.res AND r.cell = c.cell
    WHERE c.res = %d AND c.geom && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
        AND r.month BETWEEN $4 AND $5
    GROUP BY c.res, c.cell, c.geom, c.area_m2
) t`

// HotspotTile draws the reports of the months from..to (first days of
// months, China time, both included) in the H3 cells that suit the tile's
// zoom, as a Mapbox Vector Tile with one layer, hotspots.
func (s *Store) HotspotTile(ctx context.Context, t tiles.ID, from, to time.Time) ([]byte, error) {
	if from.After(to) {
		return nil, grids.Invalid("to", "is before from")
	}
	var b []byte
	err := s.pool.QueryRow(ctx, fmt.Sprintf(hotspotTileSQL, HotspotResolution(t.Z)), t.Z, t.X, t.Y,
		from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&b)
	if err != nil {
		return nil, fmt.Errorf("hot-spot tile %s: %w", t, translateCtx(ctx, err))
	}
	return b, nil
}
