package postgis

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"gridd/grids"
)

// CaseStats implements grids.CaseStatser from the cases' creation times
// (the case clock's), in one pass over the period's cases (cases_created).
func (s *Store) CaseStats(ctx context.Context, from, to time.Time) (grids.CaseStats, error) {
	st := grids.CaseStats{From: from, To: to, Weeks: []grids.WeekCount{}, Classes: []grids.MajorCount{}}
	if !from.Before(to) {
		return st, grids.Invalid("to", "is not after from: the period is [from, to)")
	}
	if to.Sub(from) > 5*366*24*time.Hour {
		return st, grids.Invalid("to", "the period is longer than five years")
	}
	rows, err := s.pool.Query(ctx, `SELECT date_trunc('week', created AT TIME ZONE 'Asia/Shanghai')::date,
			scheme, kind, left(class, 2), count(*)
		FROM cases WHERE created >= $1 AND created < $2
		GROUP BY 1, 2, 3, 4`, from, to)
	if err != nil {
		return st, fmt.Errorf("case stats: %w", translateCtx(ctx, err))
	}
	weeks := map[time.Time]int{}
	majors := map[grids.MajorCount]int{}
	var week time.Time
	var m grids.MajorCount
	var n int
	_, err = pgx.ForEachRow(rows, []any{&week, &m.Scheme, &m.Kind, &m.Major, &n}, func() error {
		weeks[time.Date(week.Year(), week.Month(), week.Day(), 0, 0, 0, 0, grids.ChinaTime)] += n
		majors[m] += n
		st.Opened += n
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("case stats: %w", translateCtx(ctx, err))
	}
	for w := grids.WeekStart(from); w.Before(to); w = w.AddDate(0, 0, 7) {
		st.Weeks = append(st.Weeks, grids.WeekCount{Start: w, Opened: weeks[w]})
	}
	for k, n := range majors {
		k.Opened = n
		if ci, ok := grids.DefaultCatalog.Lookup(grids.Class{Scheme: k.Scheme, Kind: k.Kind, Code: k.Major}); ok {
			k.Name = ci.Name
		}
		st.Classes = append(st.Classes, k)
	}
	sort.Slice(st.Classes, func(i, j int) bool {
		a, b := st.Classes[i], st.Classes[j]
		if a.Opened != b.Opened {
			return a.Opened > b.Opened
		}
		return a.Scheme+a.Kind+a.Major < b.Scheme+b.Kind+b.Major
	})
	return st, nil
}
