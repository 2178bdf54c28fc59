package postgis

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// The reads the Open311 GeoReport v2 face (api/open311.go) needs beyond
// grids.CaseStore: requests listed by id, by class and by open or closed,
// the last step of each case (its status notes), and the names of the
// divisions a case lies in (its address).

// Open311Cases lists cases, newest first, at most limit (1 to 1000): those
// with the ids when ids is not empty (whatever their time), else those of
// the classes (any when empty) in the states (any when empty) created in
// [since, until) (a zero time is no bound).
func (s *Store) Open311Cases(ctx context.Context, ids []int64, classes []grids.Class, states []grids.CaseState,
	since, until time.Time, limit int) ([]grids.Case, error) {
	f := grids.CaseFilter{IDs: ids, Limit: limit}
	if len(ids) == 0 {
		f.Classes, f.States, f.Since, f.Until = classes, states, since, until
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	return s.Cases(ctx, f)
}

// CaseLastSteps returns the last step taken on each of the cases (the
// report itself is not a step; a case only reported has none). The actor
// is left out: what an Open311 client reads names nobody.
func (s *Store) CaseLastSteps(ctx context.Context, ids []int64) (map[int64]grids.CaseEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (case_id) case_id, id, at, step, coalesce(from_state, ''), to_state,
			coalesce(department_code, ''), reason, note
		FROM case_events WHERE case_id = ANY($1::bigint[]) AND step <> 'report'
		ORDER BY case_id, id DESC`, ids)
	if err != nil {
		return nil, fmt.Errorf("case last steps: %w", translateCtx(ctx, err))
	}
	out := map[int64]grids.CaseEvent{}
	var caseID int64
	var e grids.CaseEvent
	var from, to string
	_, err = pgx.ForEachRow(rows, []any{&caseID, &e.ID, &e.At, &e.Step, &from, &to, &e.Department, &e.Reason, &e.Note}, func() error {
		e.From, e.To = grids.CaseState(from), grids.CaseState(to)
		out[caseID] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("case last steps: %w", translateCtx(ctx, err))
	}
	return out, nil
}

// DivisionNames returns the current names of the districts, streets and
// communities with the codes (codes without a current division are left
// out).
func (s *Store) DivisionNames(ctx context.Context, codes []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT code, name FROM divisions WHERE code = ANY($1::text[]) AND valid_to IS NULL`, codes)
	if err != nil {
		return nil, fmt.Errorf("division names: %w", translateCtx(ctx, err))
	}
	out := map[string]string{}
	var code, name string
	_, err = pgx.ForEachRow(rows, []any{&code, &name}, func() error {
		out[code] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("division names: %w", translateCtx(ctx, err))
	}
	return out, nil
}
