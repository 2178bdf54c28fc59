package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// TimeLimits implements grids.TimeLimitStore: the table of time limits
// (case_time_limits, migration 0016), defaults first.
func (s *Store) TimeLimits(ctx context.Context) ([]grids.TimeLimit, error) {
	rows, err := s.pool.Query(ctx, `SELECT scheme, kind, class, urgency, stage, time_limit FROM case_time_limits
		ORDER BY scheme, kind, class, urgency, array_position(ARRAY['file', 'dispatch', 'handle', 'verify', 'close'], stage)`)
	if err != nil {
		return nil, fmt.Errorf("time limits: %w", translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.TimeLimit, error) {
		var l grids.TimeLimit
		err := r.Scan(&l.Scheme, &l.Kind, &l.Class, &l.Urgency, &l.Stage, &l.Limit)
		if ci, ok := grids.DefaultCatalog.Lookup(grids.Class{Scheme: l.Scheme, Kind: l.Kind, Code: l.Class}); ok {
			l.Name = ci.Name
		}
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("time limits: %w", translateCtx(ctx, err))
	}
	return out, nil
}

// ReplaceTimeLimits implements grids.TimeLimitStore. Cases keep the
// deadlines they have; a stage started afterwards takes the new limits.
func (s *Store) ReplaceTimeLimits(ctx context.Context, limits []grids.TimeLimit) error {
	if err := grids.CheckTimeLimits(limits); err != nil {
		return err
	}
	var scheme, kind, class, urgency, stage, limit []string
	for _, l := range limits {
		scheme, kind, class = append(scheme, l.Scheme), append(kind, l.Kind), append(class, l.Class)
		urgency, stage, limit = append(urgency, l.Urgency), append(stage, l.Stage), append(limit, l.Limit)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE case_time_limits IN EXCLUSIVE MODE; DELETE FROM case_time_limits`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO case_time_limits (scheme, kind, class, urgency, stage, time_limit)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
			scheme, kind, class, urgency, stage, limit)
		return err
	})
	if err != nil {
		return fmt.Errorf("replace time limits: %w", translateCtx(ctx, err))
	}
	return nil
}
