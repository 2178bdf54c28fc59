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
	var rep grids.ImportReport
	if _, err := grids.ParseLayer(layer); err != nil {
		return rep, err
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
	return rep, err
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
