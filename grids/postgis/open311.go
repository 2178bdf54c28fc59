package postgis

import (
	"context"
	"fmt"
	"strings"
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
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(ids) > 0 {
		where = append(where, "c.id = ANY("+arg(ids)+"::bigint[])")
	} else {
		if len(classes) > 0 {
			var schemes, kinds, codes []string
			for _, cl := range classes {
				schemes, kinds, codes = append(schemes, cl.Scheme), append(kinds, cl.Kind), append(codes, cl.Code)
			}
			where = append(where, "(c.scheme, c.kind, c.class) IN (SELECT * FROM unnest("+
				arg(schemes)+"::text[], "+arg(kinds)+"::text[], "+arg(codes)+"::text[]))")
		}
		if len(states) > 0 {
			st := make([]string, len(states))
			for i, x := range states {
				st[i] = string(x)
			}
			where = append(where, "c.state = ANY("+arg(st)+"::text[])")
		}
		if !since.IsZero() {
			where = append(where, "c.created >= "+arg(since))
		}
		if !until.IsZero() {
			where = append(where, "c.created < "+arg(until))
		}
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := `SELECT ` + caseColumns + ` FROM cases c`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY c.id DESC LIMIT " + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("open311 cases: %w", translateCtx(ctx, err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (grids.Case, error) { return scanCase(r) })
	if err != nil {
		return nil, fmt.Errorf("open311 cases: %w", translateCtx(ctx, err))
	}
	return out, nil
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
