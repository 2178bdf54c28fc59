package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// ImportLines implements grids.LineStore. The layer's current features are
// retired and the file's inserted, in one transaction; a file identical to
// the stored layer (same features, in the same order) changes nothing. The
// history gets one row per changed layer.
func (s *Store) ImportLines(ctx context.Context, layer string, feats []grids.LineFeature, actor, reason string) (grids.ImportReport, error) {
	rep, _, err := s.ImportLinesFit(ctx, layer, feats, actor, reason, 0)
	return rep, err
}

// ImportLinesFit is ImportLines that first, when fitM > 0, moves every line
// end that touches no other line of the file but lies within fitM metres of
// one onto its closest point there: real road data stops a metre short of
// the road it meets, and an end left dangling does not cut the block.
func (s *Store) ImportLinesFit(ctx context.Context, layer string, feats []grids.LineFeature, actor, reason string, fitM float64) (grids.ImportReport, grids.LineFit, error) {
	var rep grids.ImportReport
	var fit grids.LineFit
	if _, err := grids.ParseLayer(layer); err != nil {
		return rep, fit, err
	}
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TEMP TABLE staged_lines (
			idx integer NOT NULL, source_id text, class text NOT NULL, name text NOT NULL,
			wkb bytea NOT NULL, geom geometry, attrs jsonb NOT NULL) ON COMMIT DROP`)
		if err != nil {
			return fmt.Errorf("stage lines: %w", err)
		}
		rows := make([][]any, len(feats))
		for i, f := range feats {
			b, err := toWKB(f.Geom)
			if err != nil {
				return fmt.Errorf("feature %d: %w", f.Index, err)
			}
			var id any
			if f.SourceID != "" {
				id = f.SourceID
			}
			rows[i] = []any{f.Index, id, f.Class, f.Name, b, attrsJSON(f.Attrs)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"staged_lines"},
			[]string{"idx", "source_id", "class", "name", "wkb", "attrs"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("stage lines: %w", err)
		}
		// A single-part MultiLineString is stored as the LineString it is.
		if _, err := tx.Exec(ctx, `UPDATE staged_lines SET geom = CASE
				WHEN ST_NumGeometries(g) = 1 THEN ST_GeometryN(g, 1) ELSE g END
			FROM (SELECT idx AS i, ST_GeomFromWKB(wkb, 4326) AS g FROM staged_lines) x WHERE x.i = idx`); err != nil {
			return fmt.Errorf("stage lines: %w", err)
		}
		rrows, err := tx.Query(ctx, `SELECT idx, coalesce(source_id, ''), reason FROM (
				SELECT idx, source_id, 'line is not valid: ' || ST_IsValidReason(geom) AS reason FROM staged_lines WHERE NOT ST_IsValid(geom)
				UNION ALL
				SELECT idx, source_id, 'line has zero length' FROM staged_lines WHERE ST_IsValid(geom) AND ST_Length(geom) = 0
			) x ORDER BY idx`)
		if err != nil {
			return fmt.Errorf("validate lines: %w", err)
		}
		rejected, err := pgx.CollectRows(rrows, pgx.RowToStructByPos[grids.Rejection])
		if err != nil {
			return fmt.Errorf("validate lines: %w", err)
		}
		if len(rejected) > 0 {
			return &grids.RejectedError{What: "line", Rejected: rejected}
		}
		if fitM > 0 {
			if fit, err = snapLineEnds(ctx, tx, fitM); err != nil {
				return err
			}
		}
		var same bool
		var current int
		err = tx.QueryRow(ctx, `SELECT
				(SELECT md5(coalesce(string_agg(concat_ws('|', source_id, class, name, attrs::text, encode(ST_AsEWKB(geom), 'hex')), ',' ORDER BY idx), ''))
				   FROM staged_lines)
				= (SELECT md5(coalesce(string_agg(concat_ws('|', source_id, class, name, attrs::text, encode(ST_AsEWKB(geom), 'hex')), ',' ORDER BY id), ''))
				   FROM lines WHERE layer = $1 AND valid_to IS NULL),
				(SELECT count(*)::int FROM lines WHERE layer = $1 AND valid_to IS NULL)`, layer).Scan(&same, &current)
		if err != nil {
			return fmt.Errorf("compare lines: %w", err)
		}
		if same {
			rep.Unchanged = len(feats)
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE lines SET valid_to = now() WHERE layer = $1 AND valid_to IS NULL`, layer); err != nil {
			return fmt.Errorf("retire lines: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO lines (layer, class, name, source_id, geom, attrs)
			SELECT $1, class, name, source_id, geom, attrs FROM staged_lines ORDER BY idx`, layer); err != nil {
			return fmt.Errorf("import lines: %w", translate(err))
		}
		action := "create"
		if current > 0 {
			action = "update"
			rep.Updated = len(feats)
		} else {
			rep.Created = len(feats)
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after)
			VALUES ($1, $2, 'line_layer', $3, $4, jsonb_build_object('features', $5::int), jsonb_build_object('features', $6::int))`,
			actor, action, layer, reason, current, len(feats))
		if err != nil {
			return fmt.Errorf("import lines: history: %w", err)
		}
		return nil
	})
	return rep, fit, err
}

// snapLineEnds moves the dangling ends of the staged lines within tolM
// metres of another staged line onto that line's closest point (the
// nearest line when several are near). Ends are those of single
// LineStrings that are not rings; distances are geodesic.
func snapLineEnds(ctx context.Context, tx pgx.Tx, tolM float64) (grids.LineFit, error) {
	var fit grids.LineFit
	// A degree of latitude is 111 km, of longitude at least 40 km in
	// China: tolM/40000 degrees bounds the index search.
	err := tx.QueryRow(ctx, `WITH ends AS (
			SELECT s.idx, e.n, e.pt FROM staged_lines s,
			       LATERAL (VALUES (1, ST_StartPoint(s.geom)), (-1, ST_EndPoint(s.geom))) e(n, pt)
			WHERE GeometryType(s.geom) = 'LINESTRING' AND NOT ST_IsClosed(s.geom)),
		dangling AS (
			SELECT * FROM ends e
			WHERE NOT EXISTS (SELECT 1 FROM staged_lines o WHERE o.idx <> e.idx AND ST_Intersects(o.geom, e.pt))),
		target AS (
			SELECT DISTINCT ON (d.idx, d.n) d.idx, d.n, ST_ClosestPoint(o.geom, d.pt) AS to_pt,
			       ST_Distance(o.geom::geography, d.pt::geography) AS dist
			FROM dangling d JOIN staged_lines o ON o.idx <> d.idx AND ST_DWithin(o.geom, d.pt, $1::float8 / 40000)
			WHERE ST_Distance(o.geom::geography, d.pt::geography) <= $1::float8
			ORDER BY d.idx, d.n, dist),
		moved AS (
			UPDATE staged_lines s SET geom = ST_SetPoint(
				CASE WHEN t1.to_pt IS NULL THEN s.geom ELSE ST_SetPoint(s.geom, 0, t1.to_pt) END,
				ST_NPoints(s.geom) - 1, coalesce(t2.to_pt, ST_EndPoint(s.geom)))
			FROM (SELECT DISTINCT idx FROM target) m
			LEFT JOIN target t1 ON t1.idx = m.idx AND t1.n = 1
			LEFT JOIN target t2 ON t2.idx = m.idx AND t2.n = -1
			WHERE s.idx = m.idx
			RETURNING s.idx)
		SELECT (SELECT count(*)::int FROM target), coalesce((SELECT max(dist) FROM target), 0), (SELECT count(*) FROM moved)`,
		tolM).Scan(&fit.Snapped, &fit.MaxMoveM, new(int64))
	if err != nil {
		return fit, fmt.Errorf("fit line ends: %w", err)
	}
	return fit, nil
}

// LineCount counts the current features of a layer ("" for every layer).
func (s *Store) LineCount(ctx context.Context, layer string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM lines WHERE valid_to IS NULL AND ($1 = '' OR layer = $1)`, layer).Scan(&n)
	return n, err
}

// AreaGridCount counts the current unit grids whose code starts with area.
func (s *Store) AreaGridCount(ctx context.Context, area string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM unit_grids WHERE valid_to IS NULL AND left(code, length($1)) = $1`, area).Scan(&n)
	return n, err
}

var _ grids.LineStore = (*Store)(nil)
