package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridd/geo"
	"gridd/grids"
)

// divisionTables is the closed list of tables behind the division levels.
var divisionTables = map[geo.Level]string{
	geo.District:  "districts",
	geo.Street:    "streets",
	geo.Community: "communities",
}

// overlapToleranceM2 is how far a division may stick out of its parent, or
// overlap a sibling, before the import refuses it.
const overlapToleranceM2 = 1.0

// ImportDivisions implements grids.DivisionStore.
func (s *Store) ImportDivisions(ctx context.Context, feats []grids.DivisionFeature, actor, reason string) (grids.ImportReport, error) {
	var rep grids.ImportReport
	err := s.inWorkTx(ctx, func(tx pgx.Tx) error {
		if err := stageDivisions(ctx, tx, feats); err != nil {
			return err
		}
		if err := validateStaged(ctx, tx, overlapToleranceM2); err != nil {
			return err
		}
		for _, l := range []geo.Level{geo.District, geo.Street, geo.Community} {
			if err := applyDivisions(ctx, tx, l, actor, reason, &rep); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

// stageDivisions loads the features into a temporary table that lives until
// the transaction ends.
func stageDivisions(ctx context.Context, tx pgx.Tx, feats []grids.DivisionFeature) error {
	_, err := tx.Exec(ctx, `CREATE TEMP TABLE staged_divisions (
		idx integer NOT NULL, code text NOT NULL, name text NOT NULL, level text NOT NULL,
		parent_code text, wkb bytea NOT NULL, geom geometry, status text, attrs jsonb NOT NULL DEFAULT '{}'
	) ON COMMIT DROP`)
	if err != nil {
		return fmt.Errorf("stage divisions: %w", err)
	}
	rows := make([][]any, len(feats))
	for i, f := range feats {
		b, err := toWKB(f.Geom)
		if err != nil {
			return fmt.Errorf("feature %d: %w", f.Index, err)
		}
		var parent any
		if p := f.Code.Parent(); p != "" {
			parent = p.String()
		}
		rows[i] = []any{f.Index, f.Code.String(), f.Name, f.Code.Level().String(), parent, b, attrsJSON(f.Attrs)}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"staged_divisions"},
		[]string{"idx", "code", "name", "level", "parent_code", "wkb", "attrs"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("stage divisions: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE staged_divisions SET geom = ST_Multi(ST_GeomFromWKB(wkb, 4326));
		CREATE INDEX ON staged_divisions USING gist (geom); ANALYZE staged_divisions`)
	if err != nil {
		return fmt.Errorf("stage divisions: %w", err)
	}
	return nil
}

// applyDivisions writes the staged rows of one level: new codes are created,
// changed ones retire the current row and get a new one, identical ones are
// left alone. Every write is recorded in the history.
func applyDivisions(ctx context.Context, tx pgx.Tx, l geo.Level, actor, reason string, rep *grids.ImportReport) error {
	table := pgx.Identifier{divisionTables[l]}.Sanitize()
	entity := l.String()
	// Classify each staged row against the current row of its code.
	_, err := tx.Exec(ctx, `UPDATE staged_divisions s SET status = CASE
			WHEN c.code IS NULL THEN 'new'
			WHEN c.name = s.name AND c.attrs = s.attrs AND ST_OrderingEquals(c.geom, s.geom) THEN 'unchanged'
			ELSE 'changed' END
		FROM staged_divisions s2 LEFT JOIN `+table+` c ON c.code = s2.code AND c.valid_to IS NULL
		WHERE s2.idx = s.idx AND s.level = $1`, entity)
	if err != nil {
		return fmt.Errorf("import %ss: %w", entity, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, before, after)
		SELECT $2, CASE s.status WHEN 'new' THEN 'create' ELSE 'update' END, $1, s.code, $3,
		       CASE WHEN c.code IS NOT NULL THEN jsonb_build_object('name', c.name, 'geometry', ST_AsGeoJSON(c.geom)::jsonb) END,
		       jsonb_build_object('name', s.name, 'geometry', ST_AsGeoJSON(s.geom)::jsonb)
		FROM staged_divisions s LEFT JOIN `+table+` c ON c.code = s.code AND c.valid_to IS NULL
		WHERE s.level = $1 AND s.status <> 'unchanged'`, entity, actor, reason)
	if err != nil {
		return fmt.Errorf("import %ss: history: %w", entity, err)
	}
	_, err = tx.Exec(ctx, `UPDATE `+table+` c SET valid_to = now() FROM staged_divisions s
		WHERE s.code = c.code AND c.valid_to IS NULL AND s.level = $1 AND s.status = 'changed'`, entity)
	if err != nil {
		return fmt.Errorf("import %ss: retire changed: %w", entity, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+table+` (code, name, parent_code, geom, attrs)
		SELECT code, name, parent_code, geom, attrs FROM staged_divisions
		WHERE level = $1 AND status <> 'unchanged' ORDER BY idx`, entity)
	if err != nil {
		return fmt.Errorf("import %ss: %w", entity, translate(err))
	}
	rows, err := tx.Query(ctx, `SELECT status, count(*)::int FROM staged_divisions WHERE level = $1 GROUP BY status`, entity)
	if err != nil {
		return fmt.Errorf("import %ss: %w", entity, err)
	}
	var status string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		switch status {
		case "new":
			rep.Created += n
		case "changed":
			rep.Updated += n
		case "unchanged":
			rep.Unchanged += n
		}
		return nil
	})
	return err
}

// Division implements grids.DivisionStore.
func (s *Store) Division(ctx context.Context, code geo.Code) (grids.Division, []grids.DivisionRef, error) {
	d := grids.Division{Code: code, Level: code.Level()}
	table, ok := divisionTables[d.Level]
	if !ok {
		return d, nil, grids.Invalid("code", "%s is not a division code (6, 9 or 12 digits)", code)
	}
	var wkbGeom []byte
	var parent *string
	err := s.pool.QueryRow(ctx, `SELECT name, parent_code, ST_AsBinary(geom), valid_from, valid_to FROM `+
		pgx.Identifier{table}.Sanitize()+` WHERE code = $1 AND valid_to IS NULL`, code.String()).
		Scan(&d.Name, &parent, &wkbGeom, &d.ValidFrom, &d.ValidTo)
	if err != nil {
		return d, nil, fmt.Errorf("division %s: %w", code, translate(err))
	}
	if parent != nil {
		d.ParentCode = geo.Code(*parent)
	}
	if d.Geom, err = multiPolygon(wkbGeom); err != nil {
		return d, nil, fmt.Errorf("division %s: %w", code, err)
	}
	chain, err := s.parentChain(ctx, code)
	return d, chain, err
}

// parentChain returns the current divisions above code, district first.
func (s *Store) parentChain(ctx context.Context, code geo.Code) ([]grids.DivisionRef, error) {
	var codes []string
	for p := code.Parent(); p != ""; p = p.Parent() {
		codes = append([]string{p.String()}, codes...)
	}
	if len(codes) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT code, name FROM divisions
		WHERE code = ANY($1) AND valid_to IS NULL ORDER BY length(code)`, codes)
	if err != nil {
		return nil, fmt.Errorf("parents of %s: %w", code, err)
	}
	return collectRefs(rows)
}

// Children implements grids.DivisionStore.
func (s *Store) Children(ctx context.Context, parent geo.Code) ([]grids.DivisionRef, error) {
	var rows pgx.Rows
	var err error
	if parent == "" {
		rows, err = s.pool.Query(ctx, `SELECT code, name FROM districts WHERE valid_to IS NULL ORDER BY code`)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT code, name FROM divisions
			WHERE parent_code = $1 AND valid_to IS NULL ORDER BY code`, parent.String())
	}
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", parent, err)
	}
	return collectRefs(rows)
}

func collectRefs(rows pgx.Rows) ([]grids.DivisionRef, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.DivisionRef, error) {
		var code, name string
		err := r.Scan(&code, &name)
		c := geo.Code(code)
		return grids.DivisionRef{Level: c.Level(), Code: c, Name: name}, err
	})
}

// DivisionCount counts the current divisions, to tell an empty database.
func (s *Store) DivisionCount(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM divisions WHERE valid_to IS NULL`).Scan(&n)
	return n, err
}

var _ grids.DivisionStore = (*Store)(nil)
