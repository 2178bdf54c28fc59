package postgis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
	"gridd/grids/catalog"
)

// Classes implements grids.ClassStore.
func (s *Store) Classes(ctx context.Context, kind catalog.Kind, major string) ([]catalog.Class, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, code, major_code, major_name, name, standard FROM classes
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR major_code = $2)
		ORDER BY kind = 'matter', code`, string(kind), major)
	if err != nil {
		return nil, fmt.Errorf("list classes: %w", err)
	}
	cs, err := pgx.CollectRows(rows, scanClass)
	if err != nil {
		return nil, fmt.Errorf("list classes: %w", err)
	}
	return cs, nil
}

func scanClass(r pgx.CollectableRow) (catalog.Class, error) {
	var c catalog.Class
	var kind string
	err := r.Scan(&kind, &c.Code, &c.MajorCode, &c.MajorName, &c.Name, &c.Standard)
	c.Kind = catalog.Kind(kind)
	return c, err
}

// Class implements grids.ClassStore.
func (s *Store) Class(ctx context.Context, kind catalog.Kind, code string) (catalog.Class, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, code, major_code, major_name, name, standard FROM classes
		WHERE kind = $1 AND code = $2`, string(kind), code)
	if err != nil {
		return catalog.Class{}, fmt.Errorf("class %s %s: %w", kind, code, err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanClass)
	if err != nil {
		return c, fmt.Errorf("%s class %s: %w", kind, code, translate(err))
	}
	return c, nil
}

// LegacyClass implements grids.ClassStore.
func (s *Store) LegacyClass(ctx context.Context, kind catalog.Kind, code string) (catalog.LegacyClass, error) {
	var l catalog.LegacyClass
	var k, how string
	var newCode *string
	err := s.pool.QueryRow(ctx, `SELECT kind, code, major_code, major_name, name, new_code, how, note
		FROM legacy_classes WHERE kind = $1 AND code = $2`, string(kind), code).
		Scan(&k, &l.Code, &l.MajorCode, &l.MajorName, &l.Name, &newCode, &how, &l.Note)
	if err != nil {
		return l, fmt.Errorf("legacy %s class %s: %w", kind, code, translate(err))
	}
	l.Kind, l.How = catalog.Kind(k), catalog.How(how)
	if newCode != nil {
		l.NewCode = *newCode
	}
	return l, nil
}

// AddLocalClass implements grids.ClassStore. The new class takes the highest
// free minor number of the major (999 down), so local classes never collide
// with the standard's, which count up from 001.
func (s *Store) AddLocalClass(ctx context.Context, kind catalog.Kind, major, name, actor string) (catalog.Class, error) {
	if kind != catalog.Component && kind != catalog.Matter {
		return catalog.Class{}, grids.Invalid("kind", "want component or matter, got %q", kind)
	}
	if len(major) != 2 || major[0] < '0' || major[0] > '9' || major[1] < '0' || major[1] > '9' {
		return catalog.Class{}, grids.Invalid("major", "want a 2-digit major class code, got %q", major)
	}
	if name == "" {
		return catalog.Class{}, grids.Invalid("name", "a class needs a name")
	}
	var c catalog.Class
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var majorName string
		var lowest int
		err := tx.QueryRow(ctx, `SELECT major_name, (SELECT coalesce(min(substr(code, 3)::integer), 1000) FROM classes
				WHERE kind = $1 AND major_code = $2 AND standard = 'local')
			FROM classes WHERE kind = $1 AND major_code = $2 ORDER BY code LIMIT 1 FOR UPDATE`, string(kind), major).
			Scan(&majorName, &lowest)
		if err != nil {
			return fmt.Errorf("major %s of the %s classes: %w", major, kind, translate(err))
		}
		code := major + fmt.Sprintf("%03d", lowest-1)
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM classes WHERE kind = $1 AND code = $2)`, string(kind), code).Scan(&taken); err != nil {
			return err
		}
		if taken || lowest-1 < 1 {
			return fmt.Errorf("%w: major %s has no free class number below %s", grids.ErrConflict, major, strconv.Itoa(lowest))
		}
		c = catalog.Class{Kind: kind, Code: code, MajorCode: major, MajorName: majorName, Name: name, Standard: "local"}
		if _, err := tx.Exec(ctx, `INSERT INTO classes (kind, code, major_code, major_name, name, standard)
			VALUES ($1, $2, $3, $4, $5, 'local')`, string(kind), code, major, majorName, name); err != nil {
			return fmt.Errorf("add class %s: %w", code, translate(err))
		}
		_, err = tx.Exec(ctx, `INSERT INTO history (actor, action, entity, code, reason, after)
			VALUES ($1, 'create', 'class', $2, 'local extension class', jsonb_build_object('kind', $3::text, 'name', $4::text))`,
			actor, code, string(kind), name)
		return err
	})
	return c, err
}

var _ grids.ClassStore = (*Store)(nil)
